using static TorchSharp.torch;

namespace Confer.Models.Safetensors;

/// <summary>
/// The safetensors dtype names we can hold in a TorchSharp tensor, their item sizes, and the order in which the
/// reference writer lays tensors out. Unsigned types wider than a byte exist in the format but not in TorchSharp, so
/// they are rejected instead of being silently reinterpreted as signed.
/// </summary>
internal static class SafetensorsDtype
{
    private static readonly Dictionary<string, ScalarType> ByName = new(StringComparer.Ordinal)
    {
        ["F64"] = ScalarType.Float64,
        ["F32"] = ScalarType.Float32,
        ["F16"] = ScalarType.Float16,
        ["BF16"] = ScalarType.BFloat16,
        ["I64"] = ScalarType.Int64,
        ["I32"] = ScalarType.Int32,
        ["I16"] = ScalarType.Int16,
        ["I8"] = ScalarType.Int8,
        ["U8"] = ScalarType.Byte,
        ["BOOL"] = ScalarType.Bool,
    };

    private static readonly Dictionary<ScalarType, string> ByType = ByName.ToDictionary(kv => kv.Value, kv => kv.Key);

    /// <summary>Format dtypes with no TorchSharp counterpart: recognised so the error can say so.</summary>
    private static readonly HashSet<string> Unsupported = new(StringComparer.Ordinal)
    {
        "U16", "U32", "U64", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64",
    };

    /// <summary>
    /// The reference implementation (Rust <c>safetensors</c>) orders its <c>Dtype</c> enum by alignment and writes
    /// tensors sorted by that rank descending, then by name; we do the same so our files are byte-identical to it.
    /// </summary>
    private static readonly Dictionary<ScalarType, int> WriteRankByType = new()
    {
        [ScalarType.Bool] = 0, [ScalarType.Byte] = 1, [ScalarType.Int8] = 2, [ScalarType.Int16] = 5,
        [ScalarType.Float16] = 7, [ScalarType.BFloat16] = 8, [ScalarType.Int32] = 9, [ScalarType.Float32] = 11,
        [ScalarType.Float64] = 12, [ScalarType.Int64] = 13,
    };

    /// <summary>The TorchSharp type for a header dtype, or an explanation of why there is none.</summary>
    public static bool TryParse(string name, out ScalarType type, out string? error)
    {
        error = null;
        if (ByName.TryGetValue(name, out type)) return true;
        error = Unsupported.Contains(name)
            ? $"dtype '{name}' has no TorchSharp equivalent (supported: {string.Join(", ", ByName.Keys)})"
            : $"unknown dtype '{name}' (supported: {string.Join(", ", ByName.Keys)})";
        return false;
    }

    public static string Name(ScalarType type) => ByType.TryGetValue(type, out var name)
        ? name
        : throw new NotSupportedException($"Tensors of type {type} cannot be stored in safetensors (supported: {string.Join(", ", ByName.Values)}).");

    public static int ItemSize(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Int8 or ScalarType.Byte or ScalarType.Bool => 1,
        _ => throw new NotSupportedException($"No safetensors item size for {type}."),
    };

    public static int WriteRank(ScalarType type) => WriteRankByType[type];

    public static bool IsFloat(ScalarType type) =>
        type is ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64;
}
