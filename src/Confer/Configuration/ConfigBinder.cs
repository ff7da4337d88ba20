using System.Globalization;
using System.Reflection;
using YamlDotNet.RepresentationModel;

namespace Confer.Configuration;

/// <summary>
/// Binds a flat YAML mapping plus <c>--set key=value</c> overrides onto a settings class whose properties carry
/// <see cref="ConfigKeyAttribute"/>. Every key is checked: an unknown key, a wrong type or a nested value is an error
/// that names the key, the file and the valid keys, so a typo never silently falls back to a default. A nullable
/// property is unset by an empty value (or <c>null</c>/<c>~</c>), so "not given" never has to borrow a number such as
/// 0; an enum property takes one of its member names (any case) and nothing else.
/// </summary>
public static class ConfigBinder
{
    public static T Bind<T>(string? yamlPath, IEnumerable<string> overrides) where T : new() =>
        Apply<T>(Read(yamlPath, overrides), []);

    /// <summary>
    /// Binds one file whose keys belong to two settings classes (e.g. a run's experiment keys and a server's
    /// deployment keys); a key neither class declares is an error listing both classes' keys.
    /// </summary>
    public static (TA, TB) Bind<TA, TB>(string? yamlPath, IEnumerable<string> overrides) where TA : new() where TB : new() =>
        Bind<TA, TB>(yamlPath, overrides, []);

    /// <summary>
    /// As <see cref="Bind{TA, TB}(string?, IEnumerable{string})"/>, with <paramref name="defaults"/> (<c>key=value</c>)
    /// replacing the classes' own defaults for one command (e.g. <c>confer fedcot client</c>'s model is an encoder);
    /// the file and the overrides still win.
    /// </summary>
    public static (TA, TB) Bind<TA, TB>(string? yamlPath, IEnumerable<string> overrides, IEnumerable<string> defaults) where TA : new() where TB : new()
    {
        var values = Read(yamlPath, overrides);
        foreach (var (key, value) in Read(null, defaults)) values.TryAdd(key, value);
        var keysA = Keys<TA>().Keys.ToHashSet(StringComparer.Ordinal);
        var keysB = Keys<TB>().Keys.ToHashSet(StringComparer.Ordinal);
        var a = Apply<TA>(values.Where(v => !keysB.Contains(v.Key)).ToDictionary(), keysB);
        var b = Apply<TB>(values.Where(v => keysB.Contains(v.Key)).ToDictionary(), keysA);
        return (a, b);
    }

    /// <summary>Binds YAML text received from elsewhere (e.g. a server's run settings); <paramref name="source"/> names it in errors.</summary>
    public static T BindText<T>(string yaml, string source) where T : new() => Apply<T>(ReadText(yaml, source), []);

    /// <summary>
    /// As <see cref="BindText{T}(string, string)"/> for a config another Confer process sent (a server's run config at
    /// join): keys this version does not know mean the sender runs a newer Confer, and the error says so instead of
    /// listing the valid keys.
    /// </summary>
    public static T BindReceived<T>(string yaml, string source) where T : new()
    {
        var values = ReadText(yaml, source);
        var known = Keys<T>();
        var unknown = values.Keys.Where(k => !known.ContainsKey(k)).ToList();
        if (unknown.Count > 0)
            throw new ConfigException($"{source} has key(s) this Confer does not know ({string.Join(", ", unknown)}): it comes from a newer version; " +
                                      "install the same Confer version on both sides.");
        return Apply<T>(values, []);
    }

    private static Dictionary<string, (string Value, string Source)> ReadText(string yaml, string source) =>
        ReadYamlText(yaml, source).ToDictionary(kv => kv.Key, kv => (kv.Value, source), StringComparer.Ordinal);

    private static Dictionary<string, (string Value, string Source)> Read(string? yamlPath, IEnumerable<string> overrides)
    {
        var values = new Dictionary<string, (string Value, string Source)>(StringComparer.Ordinal);
        if (yamlPath is not null)
            foreach (var (k, v) in ReadYaml(yamlPath)) values[k] = (v, yamlPath);
        foreach (var o in overrides)
        {
            var eq = o.IndexOf('=');
            if (eq <= 0) throw new ConfigException($"--set '{o}': expected key=value, e.g. --set rounds=20.");
            values[o[..eq].Trim()] = (o[(eq + 1)..].Trim(), "--set");
        }
        return values;
    }

    private static T Apply<T>(Dictionary<string, (string Value, string Source)> values, IEnumerable<string> otherValidKeys) where T : new()
    {
        var settings = new T();
        var keys = Keys<T>();
        foreach (var (key, (value, source)) in values)
        {
            if (!keys.TryGetValue(key, out var property))
                throw new ConfigException($"{source}: unknown key '{key}'. Valid keys: {string.Join(", ", keys.Keys.Concat(otherValidKeys).Order())}.");
            try
            {
                property.SetValue(settings, Parse(value, property.PropertyType));
            }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
            {
                throw new ConfigException($"{source}: key '{key}' has value '{value}'; expected {Describe(property.PropertyType)}.");
            }
        }
        return settings;
    }

    /// <summary>Every key with its type, current value and description, for help text and resolved-config files.</summary>
    public static IEnumerable<(string Key, string Type, string Value, string Description)> Describe<T>(T settings) =>
        Keys<T>().OrderBy(k => k.Key).Select(k => (k.Key, Describe(k.Value.PropertyType), Format(k.Value.GetValue(settings)),
            k.Value.GetCustomAttribute<ConfigKeyAttribute>()!.Description));

    /// <summary>A YAML document of every key and value, re-readable by <see cref="Bind{T}"/>.</summary>
    public static string ToYaml<T>(T settings) =>
        string.Join('\n', Describe(settings).Select(d => $"{d.Key}: {Quote(d.Value)}  # {d.Description}")) + "\n";

    /// <summary>
    /// The keys whose values differ between a run's stored config (as <see cref="ToYaml{T}"/> wrote it, perhaps in an
    /// older version) and <paramref name="current"/>. Compared as bound values, so help comments do not count, and a key
    /// added since the file was written counts only when its current value is not its default (new keys default to the
    /// old behaviour). A stored key this version no longer has is an error naming it.
    /// </summary>
    /// <param name="storedYaml">The stored config.</param>
    /// <param name="current">The settings asked for now.</param>
    /// <param name="source">Names the stored config in errors.</param>
    public static IReadOnlyList<string> ChangedKeys<T>(string storedYaml, T current, string source) where T : new()
    {
        var stored = Describe(BindText<T>(storedYaml, source)).ToDictionary(d => d.Key, d => d.Value, StringComparer.Ordinal);
        return [.. Describe(current).Where(d => stored[d.Key] != d.Value).Select(d => d.Key)];
    }

    /// <summary>
    /// As <see cref="ChangedKeys{T}(string, T, string)"/> for two YAML documents of a settings class not known here: the
    /// keys whose values differ or that only one of them has (help comments do not count).
    /// </summary>
    /// <param name="storedYaml">The stored config.</param>
    /// <param name="currentYaml">The config asked for now.</param>
    /// <param name="source">Names the stored config in errors.</param>
    public static IReadOnlyList<string> ChangedKeys(string storedYaml, string currentYaml, string source)
    {
        var stored = ReadYamlText(storedYaml, source).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var current = ReadYamlText(currentYaml, "the current config").ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return [.. stored.Keys.Union(current.Keys).Where(k => !stored.TryGetValue(k, out var a) || !current.TryGetValue(k, out var b) || a != b).Order(StringComparer.Ordinal)];
    }

    private static Dictionary<string, PropertyInfo> Keys<T>() =>
        typeof(T).GetProperties()
            .Select(p => (p, a: p.GetCustomAttribute<ConfigKeyAttribute>()))
            .Where(x => x.a is not null)
            .ToDictionary(x => x.a!.Name, x => x.p, StringComparer.Ordinal);

    private static IEnumerable<(string Key, string Value)> ReadYaml(string path)
    {
        if (!File.Exists(path)) throw new ConfigException($"Config file '{path}' does not exist.");
        return ReadYamlText(File.ReadAllText(path), path);
    }

    private static IEnumerable<(string Key, string Value)> ReadYamlText(string yaml, string path)
    {
        var stream = new YamlStream();
        try
        {
            using var reader = new StringReader(yaml);
            stream.Load(reader);
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new ConfigException($"{path}: invalid YAML at line {e.Start.Line}: {e.Message}");
        }
        if (stream.Documents.Count == 0) yield break;
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new ConfigException($"{path}: the top level must be a mapping of key: value.");
        foreach (var (keyNode, valueNode) in root.Children)
        {
            var key = ((YamlScalarNode)keyNode).Value ?? "";
            yield return valueNode switch
            {
                YamlScalarNode s => (key, s.Value ?? ""),
                YamlSequenceNode seq when seq.Children.All(c => c is YamlScalarNode) =>
                    (key, string.Join(',', seq.Children.Select(c => ((YamlScalarNode)c).Value))),
                _ => throw new ConfigException($"{path}: key '{key}' must be a scalar or a list of scalars (line {valueNode.Start.Line})."),
            };
        }
    }

    private static object? Parse(string value, Type type)
    {
        var inv = CultureInfo.InvariantCulture;
        if (Nullable.GetUnderlyingType(type) is { } underlying)
            return value is "" or "null" or "~" ? null : Parse(value, underlying);
        if (type.IsEnum) return ParseEnum(value, type);
        if (type == typeof(string)) return value;
        if (type == typeof(int)) return int.Parse(value, inv);
        if (type == typeof(long)) return long.Parse(value, inv);
        if (type == typeof(double)) return double.Parse(value, inv);
        if (type == typeof(bool)) return bool.Parse(value);
        if (type == typeof(int[])) return Split(value).Select(v => int.Parse(v, inv)).ToArray();
        if (type == typeof(string[])) return Split(value).ToArray();
        throw new ArgumentException($"unsupported config type {type.Name}");
    }

    /// <summary>A member name, ignoring case; numbers are refused although <see cref="Enum.TryParse(Type, string?, bool, out object?)"/> accepts them.</summary>
    private static object ParseEnum(string value, Type type)
    {
        var name = Enum.GetNames(type).FirstOrDefault(n => string.Equals(n, value, StringComparison.OrdinalIgnoreCase));
        return name is null ? throw new ArgumentException($"'{value}' is not a {type.Name}") : Enum.Parse(type, name);
    }

    private static IEnumerable<string> Split(string value) =>
        value.Trim('[', ']').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string Describe(Type type) =>
        Nullable.GetUnderlyingType(type) is { } underlying ? $"{Describe(underlying)} or empty (unset)" :
        type.IsEnum ? "one of " + string.Join(", ", Enum.GetNames(type).Select(n => n.ToLowerInvariant())) :
        type == typeof(int[]) ? "list of integers" : type == typeof(string[]) ? "list of strings" :
        type == typeof(double) ? "number" : type == typeof(int) || type == typeof(long) ? "integer" : type == typeof(bool) ? "boolean (true/false)" : "string";

    private static string Format(object? value) => value switch
    {
        null => "",
        Enum e => e.ToString().ToLowerInvariant(),
        int[] a => "[" + string.Join(", ", a) + "]",
        string[] s => "[" + string.Join(", ", s) + "]",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    private static string Quote(string v) => v.Length == 0 ? "''" : v.StartsWith('[') ? v : $"'{v.Replace("'", "''")}'";
}

/// <summary>A configuration error a user can fix; the message says where and how.</summary>
public sealed class ConfigException(string message) : Exception(message);
