using Confer.Federation;
using Confer.Federation.Messages;
using Confer.Federation.Updates;
using Confer.Models;

namespace Confer.Privacy.DifferentialPrivacy;

/// <summary>Where a client's DP noise comes from.</summary>
public enum ClientNoise
{
    /// <summary>Derived from the run seed, round and client id: reproducible (a simulation), and known to whoever knows the seed.</summary>
    FromRunSeed,

    /// <summary>A fresh secret key per task from the system's cryptographic generator (a deployed client).</summary>
    Secret,
}

/// <summary>
/// DP-FedAvg's clipping as a message stage, placed before any codec so a codec compresses the bounded update. Client
/// side: Δ_k (the update in its strategy's <see cref="UpdateForm"/>, measured from what the task started it at) is
/// scaled to norm ≤ C, client-mode noise is added to it, and, when asked, whether it was left unclipped is reported.
/// Server side: the decoded update is clipped again to the C its task carried, so a client that skips clipping cannot
/// move the mean by more than C/m (a no-op for an honest, losslessly coded update). Tasks without a C pass unchanged.
/// </summary>
public sealed class DpClipStage(int seed, ClientNoise noise) : MessageHook
{
    public override string Name => "dp clipping";

    public override ClientUpdate EncodeUpdate(ClientUpdate update, ClientTask task)
    {
        if (task.Config.GetDouble(DpController.ClipNormKey) is not { } clip) return update;
        var form = UpdateSpace.FormOf(task);
        var norm = UpdateSpace.Norm(form, update.Adapter, task);
        var clipped = UpdateSpace.Scaled(form, update.Adapter, task, Math.Min(1, clip / norm));
        if (task.Config.GetDouble(DpController.NoiseStdKey) is { } std && std > 0)
        {
            if (form != UpdateForm.AdapterDelta)
            {
                clipped.Dispose();
                throw new InvalidDataException("client-side DP noise needs an update of form adapter_delta; on a LoRA product it would be amplified in B·A.");
            }
            AddNoise(clipped, task, std);
        }
        var metrics = new Dictionary<string, double>(update.Metrics, StringComparer.Ordinal);
        if (task.Config.Get(DpController.ReportUnclippedKey) == "1") metrics[DpController.UnclippedMetric] = norm <= clip ? 1 : 0;
        return update with { Adapter = clipped, Metrics = metrics };
    }

    public override ClientUpdate DecodeUpdate(ClientUpdate update, ClientTask task)
    {
        if (task.Config.GetDouble(DpController.ClipNormKey) is not { } clip) return update;
        var form = UpdateSpace.FormOf(task);
        try
        {
            var norm = UpdateSpace.Norm(form, update.Adapter, task);
            // A lossy codec may leave an honest update a hair above C; clipping again is what bounds the sensitivity.
            return norm <= clip ? update : update with { Adapter = UpdateSpace.Scaled(form, update.Adapter, task, clip / norm) };
        }
        catch (InvalidDataException e)
        {
            throw new InvalidClientUpdateException(update.ClientId, e.Message);
        }
    }

    private void AddNoise(NamedTensors clipped, ClientTask task, double std)
    {
        var key = noise == ClientNoise.Secret ? GaussianNoise.SecretKey() : GaussianNoise.KeyFromSeed(seed, $"client {task.ClientId} round {task.Round}");
        foreach (var (name, t) in clipped)
        {
            using var n = GaussianNoise.Sample(key, name, t.shape, std);
            t.add_(n.to(t.dtype));
        }
    }
}
