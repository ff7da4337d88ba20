namespace Confer.Peft;

/// <summary>
/// PEFT's key layout for LoRA tensors. An adapter for the module at HF path <c>p</c> is stored as
/// <c>base_model.model.{p}.lora_A.weight</c> (r × d_in) and <c>base_model.model.{p}.lora_B.weight</c> (d_out × r);
/// the module's own dense weight is <c>{p}.weight</c> in a Hugging Face checkpoint.
/// </summary>
public static class LoraKeys
{
    public const string Prefix = "base_model.model.";
    private const string ASuffix = ".lora_A.weight";
    private const string BSuffix = ".lora_B.weight";

    public static string A(string modulePath) => Prefix + modulePath + ASuffix;

    public static string B(string modulePath) => Prefix + modulePath + BSuffix;

    /// <summary>The HF name of the dense weight that the adapter on <paramref name="modulePath"/> modifies.</summary>
    public static string DenseWeight(string modulePath) => modulePath + ".weight";

    public static bool IsA(string key) => key.StartsWith(Prefix, StringComparison.Ordinal) && key.EndsWith(ASuffix, StringComparison.Ordinal);

    public static bool IsB(string key) => key.StartsWith(Prefix, StringComparison.Ordinal) && key.EndsWith(BSuffix, StringComparison.Ordinal);

    /// <summary>The module path of a <c>lora_A</c>/<c>lora_B</c> key, e.g. <c>model.layers.0.self_attn.q_proj</c>.</summary>
    public static string ModulePath(string key)
    {
        if (IsA(key)) return key[Prefix.Length..^ASuffix.Length];
        if (IsB(key)) return key[Prefix.Length..^BSuffix.Length];
        throw new ArgumentException($"'{key}' is not a PEFT LoRA key (expected '{Prefix}<module>.lora_A.weight' or '.lora_B.weight').", nameof(key));
    }

    /// <summary>Module paths of all LoRA pairs in <paramref name="keys"/>, in first-seen order.</summary>
    public static IReadOnlyList<string> ModulePaths(IEnumerable<string> keys) =>
        keys.Where(k => IsA(k) || IsB(k)).Select(ModulePath).Distinct().ToList();
}
