using System.Globalization;
using Confer.Configuration;

namespace Confer.Compression;

/// <summary>
/// The arguments of one stage of a codec chain, written after its name and separated by colons (<c>topk:0.1</c>,
/// <c>int4:128</c>, <c>sparse-lora:0.05:ef</c>, <c>zstd:3</c>). A factory reads them by position; every error names
/// the config key, the stage and what was expected.
/// </summary>
public sealed class CodecArguments
{
    private readonly string _key;
    private readonly IReadOnlyList<string> _values;

    internal CodecArguments(string key, string name, IReadOnlyList<string> values)
    {
        _key = key;
        Name = name;
        _values = values;
    }

    /// <summary>The stage's registered name (lower case).</summary>
    public string Name { get; }

    public int Count => _values.Count;

    /// <summary>The stage as it travels in the codec id: name and arguments, colon-separated.</summary>
    public string Spec => string.Join(':', _values.Prepend(Name));

    /// <summary>Refuses more than <paramref name="count"/> arguments.</summary>
    public CodecArguments AtMost(int count) =>
        _values.Count <= count ? this : throw Error(count == 0 ? "takes no arguments" : $"takes at most {count} argument(s)");

    /// <summary>Argument <paramref name="index"/> as a share in (0, 1].</summary>
    public double Fraction(int index, string what)
    {
        if (index >= _values.Count) throw Error($"needs {what} in (0, 1], e.g. {Name}:0.1");
        if (!double.TryParse(_values[index], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !(value is > 0 and <= 1))
            throw Error($"{what} '{_values[index]}' is not a number in (0, 1]");
        return value;
    }

    /// <summary>Argument <paramref name="index"/> as an integer in [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="fallback"/> when absent.</summary>
    public int Integer(int index, string what, int fallback, int min, int max)
    {
        if (index >= _values.Count) return fallback;
        if (!int.TryParse(_values[index], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            throw Error($"{what} '{_values[index]}' is not an integer in [{min}, {max}]");
        return value;
    }

    /// <summary>True when argument <paramref name="index"/> is the word <paramref name="flag"/>; absent is false, any other word an error.</summary>
    public bool Flag(int index, string flag)
    {
        if (index >= _values.Count) return false;
        return string.Equals(_values[index], flag, StringComparison.OrdinalIgnoreCase) ? true : throw Error($"argument '{_values[index]}' is not '{flag}'");
    }

    private ConfigException Error(string what) => new($"{_key}: codec stage '{Spec}' {what}.");
}
