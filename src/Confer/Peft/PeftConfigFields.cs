using System.Text.Json;

namespace Confer.Peft;

/// <summary>
/// adapter_config.json fields that <see cref="LoraConfig"/> does not read and that never change an adapter's output:
/// bookkeeping, and options that only matter with features Confer refuses anyway. Any other unread field is refused.
/// </summary>
internal static class PeftConfigFields
{
    public static readonly IReadOnlySet<string> WithoutEffect = new HashSet<string>(StringComparer.Ordinal)
    {
        "revision", "auto_mapping", "peft_version", "megatron_core", "runtime_config",
        // Only meaningful with modules_to_save (refused when set), tied-weight targets, or use_qalora (refused when true).
        "ensure_weight_tying", "qalora_group_size",
    };

    public static void RefuseUnread(IReadOnlyDictionary<string, JsonElement>? unread, string source, IEnumerable<string> read)
    {
        if (unread is null) return;
        foreach (var (name, value) in unread.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (WithoutEffect.Contains(name) || !LoraConfig.IsSet(value)) continue;
            throw new NotSupportedException(
                $"{source}: field '{name}' is not read by Confer and may change the adapter's output (Confer reads: {string.Join(", ", read)}). " +
                "Remove it if it has no effect, or use an adapter without it.");
        }
    }
}
