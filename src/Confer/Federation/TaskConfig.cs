using System.Collections;
using System.Globalization;

namespace Confer.Federation;

/// <summary>
/// The string map a <see cref="ClientTask"/> carries to its client. Values are invariant-culture text so that every
/// client reads them the same way; the well-known keys below are the knobs the Confer client honours.
/// </summary>
public sealed class TaskConfig : IReadOnlyDictionary<string, string>
{
    /// <summary>FedProx μ (a number).</summary>
    public const string ProximalMu = "proximal_mu";

    /// <summary>Which adapter tensors stay frozen: <c>lora_A</c> (FFA-LoRA).</summary>
    public const string Freeze = "freeze";

    /// <summary>Local optimiser steps for this task, overriding the run's <c>local_steps</c> (e.g. a client's compute budget).</summary>
    public const string LocalSteps = "local_steps";

    /// <summary>Most entries a task may carry; a server never needs more, and a bound keeps a hostile peer's maps small.</summary>
    public const int MaxEntries = 64;

    /// <summary>Longest key or value, in characters.</summary>
    public const int MaxLength = 256;

    private readonly SortedDictionary<string, string> _values;

    public TaskConfig(IEnumerable<KeyValuePair<string, string>> values)
    {
        _values = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in values)
        {
            if (string.IsNullOrEmpty(key) || key.Length > MaxLength || value.Length > MaxLength)
                throw new ArgumentException($"task config entry '{Shorten(key)}' must have a key and value of 1–{MaxLength} characters.");
            _values[key] = value;
        }
        if (_values.Count > MaxEntries) throw new ArgumentException($"task config has {_values.Count} entries; at most {MaxEntries} are allowed.");
    }

    public static TaskConfig Empty { get; } = new([]);

    /// <summary>A config with <paramref name="key"/> set to <paramref name="value"/> (numbers in invariant culture, round-trip precision).</summary>
    public TaskConfig With(string key, double value) => With(key, value.ToString("R", CultureInfo.InvariantCulture));

    public TaskConfig With(string key, string value) => new(_values.Where(kv => kv.Key != key).Append(new(key, value)));

    public string? Get(string key) => _values.GetValueOrDefault(key);

    /// <summary>The value of <paramref name="key"/> as a finite number; null when absent; an error naming the key when it is not a number.</summary>
    public double? GetDouble(string key)
    {
        if (Get(key) is not { } text) return null;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
            ? v
            : throw new FormatException($"task config '{key}' is '{Shorten(text)}', not a finite number.");
    }

    public string this[string key] => _values[key];

    public IEnumerable<string> Keys => _values.Keys;

    public IEnumerable<string> Values => _values.Values;

    public int Count => _values.Count;

    public bool ContainsKey(string key) => _values.ContainsKey(key);

    public bool TryGetValue(string key, out string value) => _values.TryGetValue(key, out value!);

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => _values.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static string Shorten(string s) => s.Length > 40 ? s[..40] + "…" : s;
}
