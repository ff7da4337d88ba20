using Confer.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Peft;

/// <summary>
/// LoRA in the targeted <see cref="LoraLinear"/> layers: each module is attached at the rank of the start tensors it
/// is given (so a global adapter of mixed ranks loads as it is) or at the task's rank, with the shared scale
/// alpha / rank; keys are PEFT's (<see cref="LoraKeys"/>).
/// </summary>
public sealed class LoraTuner(IReadOnlyList<string> targetModules) : PeftTuner
{
    private readonly LoraConfig _targeting = new() { TargetModules = [.. targetModules] };

    public override PeftMethod Method => PeftMethod.Lora;

    public IReadOnlyList<string> TargetModules => _targeting.TargetModules;

    /// <summary>The targeted layers of <paramref name="model"/> with their HF paths, in model order.</summary>
    public IReadOnlyList<(string Path, LoraLinear Layer)> Targets(nn.Module model)
    {
        var targets = LoraModel.Layers(model).Where(l => _targeting.Targets(l.Path)).ToList();
        if (targets.Count == 0)
            throw new ArgumentException($"No layer of the model matches lora_targets [{string.Join(", ", TargetModules)}].");
        return targets;
    }

    public override void Attach(nn.Module model, NamedTensors? start, int rank, double alpha, double dropout, Generator generator)
    {
        var targets = Targets(model);
        foreach (var (path, layer) in targets)
        {
            var moduleRank = start is not null && start.TryGet(LoraKeys.A(path), out var a) ? (int)a.shape[0] : rank;
            layer.AttachAdapter(moduleRank, alpha * moduleRank / rank, dropout, generator);
        }
        LoraModel.FreezeAllButAdapters(model);
        if (start is null) return;
        using var _ = no_grad();
        foreach (var (path, layer) in targets)
        {
            if (start.TryGet(LoraKeys.A(path), out var a)) layer.LoraA.copy_(a);
            if (start.TryGet(LoraKeys.B(path), out var b)) layer.LoraB.copy_(b);
        }
    }

    public override void Detach(nn.Module model) => LoraModel.Detach(model);

    public override NamedTensors Capture(nn.Module model) => LoraModel.Capture(model);

    /// <summary>PEFT LORA: the most common rank as <c>r</c>, <c>rank_pattern</c>/<c>alpha_pattern</c> for the others, alpha = scale · rank.</summary>
    public override void Save(string folder, NamedTensors tensors, AdapterFolderInfo info) => PeftAdapter.Save(folder, tensors, Config(tensors, info));

    public LoraConfig Config(NamedTensors tensors, AdapterFolderInfo info)
    {
        var config = new LoraConfig { TargetModules = [.. TargetModules], Dropout = info.LoraDropout, BaseModelNameOrPath = info.BaseModel };
        var ranks = LoraKeys.ModulePaths(tensors.Names).Select(p => (Path: p, Rank: (int)tensors[LoraKeys.A(p)].shape[0])).ToList();
        config.Rank = ranks.Count > 0 ? ranks.GroupBy(r => r.Rank).MaxBy(g => g.Count())!.Key : info.LoraRank;
        config.Alpha = info.LoraScale * config.Rank;
        foreach (var (path, rank) in ranks.Where(r => r.Rank != config.Rank))
        {
            config.RankPattern[path] = rank;
            config.AlphaPattern[path] = info.LoraScale * rank;
        }
        return config;
    }
}
