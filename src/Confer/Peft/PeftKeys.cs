namespace Confer.Peft;

/// <summary>
/// Names of the parameters that PEFT add-ons register inside a Confer model — LoRA (<c>….lora_A.weight</c>), the soft
/// prompt (<c>model.prompt_encoder.embedding.weight</c>) and bottleneck adapters (<c>….attn_adapter.down.weight</c> …)
/// — which are never part of a base checkpoint, and the PEFT file prefix they are saved under.
/// </summary>
public static class PeftKeys
{
    /// <summary>PEFT's prefix of a tensor that lives inside the wrapped model (LoRA, bottleneck adapters).</summary>
    public const string ModelPrefix = LoraKeys.Prefix;

    /// <summary>PEFT's key of a prompt-tuning prompt (L × d) in <c>adapter_model.safetensors</c>.</summary>
    public const string PromptEmbeddings = "prompt_embeddings";

    /// <summary>True for a parameter of an attached LoRA pair, soft prompt or bottleneck adapter.</summary>
    public static bool IsAddOnParameter(string name) =>
        name.Contains(".lora_", StringComparison.Ordinal)
        || name.StartsWith("prompt_encoder.", StringComparison.Ordinal) || name.Contains(".prompt_encoder.", StringComparison.Ordinal)
        || name.Contains("attn_adapter.", StringComparison.Ordinal) || name.Contains("mlp_adapter.", StringComparison.Ordinal);
}
