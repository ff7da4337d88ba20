using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Federation.Rounds;

/// <summary>
/// A cheap robustness guard: how far an update moved each tensor from what the server sent (or, for tensors the
/// client initialised itself, its size). A poisoned or diverged update shows up as an outsized change long before
/// it can be told apart by its values.
/// </summary>
internal static class UpdateNormBound
{
    /// <summary>Why <paramref name="update"/> breaks the bound, naming the tensor; null when it does not (or the bound is 0 = off).</summary>
    public static string? Violation(NamedTensors update, NamedTensors? sent, double maxNorm)
    {
        if (maxNorm <= 0) return null;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (name, t) in update)
        {
            var change = sent is not null && sent.TryGet(name, out var start) && start.shape.SequenceEqual(t.shape) ? t - start : t;
            var norm = change.norm().item<float>();
            if (!(norm <= maxNorm))
                return $"tensor '{name}' changed by an L2 norm of {norm:G4}, above max_update_norm {maxNorm:G4}";
        }
        return null;
    }
}
