using Confer.Federation;
using Confer.Federation.Messages;
using Confer.Federation.Updates;
using Confer.Models;
using Confer.Peft;
using Confer.Privacy.DifferentialPrivacy;
using static TorchSharp.torch;

namespace Confer.Robustness.Attacks;

/// <summary>
/// The model-poisoning attacks as a client-side message stage that only an attacker's updates pass through changed:
/// sign-flip sends start − λΔ, scale sends start + λΔ, noise sends start + N(0, λ²). Δ is the update in the strategy's
/// form (a LoRA product changes through B). It sits after DP clipping — a malicious client skips its own clipping; the
/// server's clipping is what bounds it — and before any codec and secure aggregation's masking, which it cannot skip.
/// </summary>
public sealed class UpdateAttackStage(AttackPlan plan, int seed) : MessageHook
{
    public override string Name => $"attack ({plan.Kind}, {plan.Attackers.Count} attacker(s))";

    public override ClientUpdate EncodeUpdate(ClientUpdate update, ClientTask task)
    {
        if (!plan.IsAttacker(update.ClientId) || task.Kind != TaskKind.Train) return update;
        var form = task.Config.Get(UpdateSpace.FormKey) is null ? UpdateForm.AdapterDelta : UpdateSpace.FormOf(task);
        NamedTensors attacked;
        switch (plan.Kind)
        {
            case AttackKind.SignFlip:
                attacked = UpdateSpace.Scaled(form, update.Adapter, task, -plan.Scale);
                break;
            case AttackKind.Scale:
                attacked = UpdateSpace.Scaled(form, update.Adapter, task, plan.Scale);
                break;
            case AttackKind.Noise:
                attacked = Noise(update.Adapter, task, form);
                break;
            default:
                return update;
        }
        return update with { Adapter = attacked };
    }

    /// <summary>Every tensor the update moves replaced by start + N(0, λ²) (a LoRA product: B random, A as trained).</summary>
    private NamedTensors Noise(NamedTensors trained, ClientTask task, UpdateForm form)
    {
        var key = GaussianNoise.KeyFromSeed(seed, $"attack {task.ClientId} round {task.Round}");
        var result = new NamedTensors();
        using var scope = NewDisposeScope();
        foreach (var (name, t) in trained)
        {
            var keep = form == UpdateForm.LoraProduct && LoraKeys.IsA(name);
            var start = form == UpdateForm.LoraProduct && LoraKeys.IsB(name) ? null : task.Adapter is { } a && a.TryGet(name, out var s) ? s : null;
            if (keep) result.Add(name, t.clone());
            else
            {
                var noise = GaussianNoise.Sample(key, name, t.shape, plan.Scale);
                result.Add(name, start is null ? noise : start.to(noise.dtype).add(noise));
            }
        }
        return result;
    }
}
