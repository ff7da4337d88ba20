using Confer.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Peft;

/// <summary>
/// One PEFT method as the federation sees it: what it attaches to a model, how its trainable tensors are named (the
/// keys a <see cref="Federation.ClientTask"/> carries and a strategy averages), and how they are saved as an adapter
/// folder. Clients, the server's model and the checkpoints all go through the run's tuner, so switching
/// <c>peft_method</c> changes nothing else. Attaching always freezes every other parameter.
/// </summary>
public abstract class PeftTuner
{
    /// <summary>The method this tuner implements.</summary>
    public abstract PeftMethod Method { get; }

    /// <summary>
    /// Attaches freshly initialised trainable tensors (seeded by <paramref name="generator"/>), then overwrites those
    /// that <paramref name="start"/> holds (keys as <see cref="Capture"/> names them). <paramref name="rank"/> and
    /// <paramref name="alpha"/> are LoRA's; other methods ignore them.
    /// </summary>
    public abstract void Attach(nn.Module model, NamedTensors? start, int rank, double alpha, double dropout, Generator generator);

    /// <summary>Removes everything <see cref="Attach"/> added.</summary>
    public abstract void Detach(nn.Module model);

    /// <summary>A detached fp32 CPU copy of the attached trainable tensors under their federation/PEFT keys, in model order.</summary>
    public abstract NamedTensors Capture(nn.Module model);

    /// <summary>Writes <c>adapter_config.json</c> and <c>adapter_model.safetensors</c> for <paramref name="tensors"/> (keys as <see cref="Capture"/> names them).</summary>
    public abstract void Save(string folder, NamedTensors tensors, AdapterFolderInfo info);

    /// <summary>The tuner for <paramref name="options"/>.</summary>
    public static PeftTuner Create(PeftOptions options) => options.Method switch
    {
        PeftMethod.Lora => new LoraTuner(options.LoraTargets),
        PeftMethod.Prompt => new PromptTuning.PromptTuner(options.PromptTokens, options.PromptInit),
        PeftMethod.Adapter => new Bottleneck.BottleneckTuner(options.AdapterSize, options.AdapterPlacement, options.AdapterActivation, options.AdapterLayers),
        _ => throw new ArgumentOutOfRangeException(nameof(options), options.Method, "Unknown PEFT method."),
    };

    /// <summary>The model as a causal LM: prompts and bottleneck adapters have slots only in the decoder.</summary>
    /// <exception cref="ArgumentException">The model is not a causal language model.</exception>
    protected CausalLanguageModel CausalLM(nn.Module model) =>
        model as CausalLanguageModel ?? throw new ArgumentException($"peft_method {Method.ToString().ToLowerInvariant()} needs a causal language model, not a {model.GetType().Name}.");

    /// <summary>Makes only the parameters <paramref name="trainable"/> accepts require gradients.</summary>
    protected static void FreezeAllBut(CausalLanguageModel model, Func<string, bool> trainable)
    {
        foreach (var (name, p) in model.named_parameters()) p.requires_grad = trainable(name);
    }
}

/// <summary>What an adapter folder records besides the tensors: the base model, LoRA's shared scale and dropout, the model's shape.</summary>
/// <param name="BaseModel">The base model folder (<c>base_model_name_or_path</c>).</param>
/// <param name="LoraScale">LoRA's α/r, shared by every module (alpha = scale · rank).</param>
/// <param name="LoraDropout">LoRA dropout recorded in the config.</param>
/// <param name="LoraRank">The run's <c>lora_r</c>, used when the tensors hold no LoRA pair.</param>
/// <param name="Layers">Decoder layers of the base model (PEFT prompt-learning <c>num_layers</c>).</param>
/// <param name="AttentionHeads">Attention heads of the base model (PEFT prompt-learning <c>num_attention_heads</c>).</param>
public sealed record AdapterFolderInfo(string? BaseModel, double LoraScale = 2, double LoraDropout = 0, int LoraRank = 8, int? Layers = null, int? AttentionHeads = null)
{
    /// <summary>The folder info of <paramref name="model"/> (its shape) with LoRA's settings.</summary>
    public static AdapterFolderInfo Of(CausalLanguageModel model, string? baseModel, double loraScale = 2, double loraDropout = 0, int loraRank = 8) =>
        new(baseModel, loraScale, loraDropout, loraRank, model.LayerCount, model.AttentionHeads);
}
