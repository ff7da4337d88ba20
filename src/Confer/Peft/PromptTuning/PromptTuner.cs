using Confer.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Peft.PromptTuning;

/// <summary>
/// Prompt tuning: one soft prompt of <paramref name="virtualTokens"/> rows in the model's <see cref="SoftPrompt"/>
/// slot is the only trainable tensor, federated under PEFT's key <c>prompt_embeddings</c> (L × d) and saved as a PEFT
/// <c>PROMPT_TUNING</c> adapter. Aggregating it is FedPrompt's weighted average (algorithms.md §9): the prompt enters
/// the model as parameters, so Σ p_k P_k is exact.
/// </summary>
public sealed class PromptTuner(int virtualTokens, PromptInit init) : PeftTuner
{
    public override PeftMethod Method => PeftMethod.Prompt;

    public int VirtualTokens { get; } = virtualTokens >= 1 ? virtualTokens : throw new ArgumentOutOfRangeException(nameof(virtualTokens), virtualTokens, "prompt_tokens must be ≥ 1.");

    public override void Attach(nn.Module module, NamedTensors? start, int rank, double alpha, double dropout, Generator generator)
    {
        var model = CausalLM(module);
        var slot = Slot(model);
        var table = model.InputEmbeddings.weight!;
        Tensor initial;
        using (no_grad())
        using (NewDisposeScope())
        {
            initial = (init == PromptInit.Vocab
                ? table.index_select(0, randint(0, table.shape[0], [VirtualTokens], dtype: ScalarType.Int64, generator: generator).to(table.device))
                : randn([VirtualTokens, table.shape[1]], generator: generator)).DetachFromDisposeScope();
        }
        // Outside the scope: a module's parameters created inside one would be disposed with it.
        try
        {
            slot.Attach(initial, table.dtype, table.device);
        }
        finally
        {
            initial.Dispose();
        }
        FreezeAllBut(model, PeftKeys.IsAddOnParameter);
        if (start is not null) PeftAddOns.Assign([(PeftKeys.PromptEmbeddings, slot.Weight)], start, "prompt-tuning task", requireAll: false);
    }

    public override void Detach(nn.Module module)
    {
        var model = CausalLM(module);
        foreach (var (_, slot) in PeftAddOns.Slots<SoftPrompt>(model)) slot.Detach();
    }

    public override NamedTensors Capture(nn.Module module)
    {
        var model = CausalLM(module);
        var slot = Slot(model);
        return slot.IsAttached ? PeftAddOns.Capture([(PeftKeys.PromptEmbeddings, slot.Weight)]) : new NamedTensors();
    }

    public override void Save(string folder, NamedTensors tensors, AdapterFolderInfo info)
    {
        var prompt = tensors[PeftKeys.PromptEmbeddings];
        var config = new PromptTuningConfig
        {
            BaseModelNameOrPath = BaseModelName.Of(info.BaseModel), NumVirtualTokens = (int)prompt.shape[0], TokenDim = (int)prompt.shape[1],
            NumLayers = info.Layers, NumAttentionHeads = info.AttentionHeads, PromptTuningInit = PromptTuningConfig.InitName(init),
        };
        PeftAdapter.Write(folder, tensors, config.ToJson());
    }

    /// <summary>Attaches the prompt saved in a PEFT prompt-tuning folder to <paramref name="model"/>.</summary>
    public static PromptTuningConfig Load(string folder, CausalLanguageModel model)
    {
        var config = PromptTuningConfig.Load(Path.Combine(folder, PeftAdapter.ConfigFile));
        var d = model.InputEmbeddings.weight!.shape[1];
        if (config.TokenDim != d)
            throw new InvalidDataException($"{folder}: token_dim {config.TokenDim} does not match the model's hidden size {d}; the prompt was trained for another model.");
        using var tensors = PeftAdapter.ReadTensors(folder);
        var tuner = new PromptTuner(config.NumVirtualTokens, PromptInit.Random);
        using var g = new Generator(0);
        tuner.Attach(model, null, 1, 1, 0, g);
        try
        {
            PeftAddOns.Assign([(PeftKeys.PromptEmbeddings, Slot(model).Weight)], tensors, Path.Combine(folder, PeftAdapter.WeightsFile), requireAll: true);
        }
        catch
        {
            tuner.Detach(model);
            throw;
        }
        return config;
    }

    private static SoftPrompt Slot(CausalLanguageModel model)
    {
        var slots = PeftAddOns.Slots<SoftPrompt>(model);
        return slots.Count == 1
            ? slots[0].Module
            : throw new ArgumentException($"{model.GetType().Name} has {slots.Count} soft-prompt slots; prompt tuning needs exactly one.");
    }
}
