namespace Confer.Peft;

/// <summary>The parameter-efficient fine-tuning method a run trains and federates (config key <c>peft_method</c>).</summary>
public enum PeftMethod
{
    /// <summary>LoRA pairs in the chosen linear layers (Hu et al., arXiv 2106.09685); PEFT <c>LORA</c>.</summary>
    Lora,

    /// <summary>A soft prompt of virtual tokens before the input (Lester et al., arXiv 2104.08691); PEFT <c>PROMPT_TUNING</c>.</summary>
    Prompt,

    /// <summary>Bottleneck adapters after attention and MLP (Houlsby et al., arXiv 1902.00751); Confer's <c>BOTTLENECK</c> folder layout.</summary>
    Adapter,
}
