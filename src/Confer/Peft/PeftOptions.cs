using Confer.Peft.Bottleneck;
using Confer.Peft.PromptTuning;

namespace Confer.Peft;

/// <summary>The run's PEFT method and its hyper-parameters (LoRA's rank and alpha travel per task instead).</summary>
public sealed record PeftOptions
{
    public PeftMethod Method { get; init; } = PeftMethod.Lora;

    /// <summary>LoRA: module names that get adapters.</summary>
    public IReadOnlyList<string> LoraTargets { get; init; } = LoraConfig.LlamaAllLinear;

    /// <summary>Prompt tuning: virtual tokens L.</summary>
    public int PromptTokens { get; init; } = 20;

    /// <summary>Prompt tuning: how a fresh prompt is drawn.</summary>
    public PromptInit PromptInit { get; init; } = PromptInit.Vocab;

    /// <summary>Bottleneck adapters: width m.</summary>
    public int AdapterSize { get; init; } = 16;

    public AdapterPlacement AdapterPlacement { get; init; } = AdapterPlacement.Houlsby;

    public AdapterActivation AdapterActivation { get; init; } = AdapterActivation.Relu;

    /// <summary>Bottleneck adapters: how many of the top decoder layers get them (0 = all; FedAdapter's depth).</summary>
    public int AdapterLayers { get; init; }
}
