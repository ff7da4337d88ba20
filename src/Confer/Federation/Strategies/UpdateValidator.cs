namespace Confer.Federation.Strategies;

/// <summary>
/// Checks one update against what its task asked for — every LoRA pair at the task's rank, every other trainable
/// tensor at its initial shape, nothing else, all values finite — and names the client and tensor when it is not.
/// </summary>
internal sealed class UpdateValidator(IReadOnlyList<LoraModule> modules, IReadOnlyDictionary<string, long[]> extraShapes)
{
    /// <param name="c">The update with the rank its task asked for.</param>
    /// <param name="loraAMayBeOmitted">FFA-LoRA: frozen <c>lora_A</c> tensors need not be sent back.</param>
    public void Validate(ClientContribution c, bool loraAMayBeOmitted)
    {
        var expected = new HashSet<string>(extraShapes.Keys, StringComparer.Ordinal);
        foreach (var m in modules)
        {
            RequireShape(c, m.BKey, [m.DOut, c.Rank], optional: false);
            RequireShape(c, m.AKey, [c.Rank, m.DIn], optional: loraAMayBeOmitted);
            expected.Add(m.AKey);
            expected.Add(m.BKey);
        }
        foreach (var (key, shape) in extraShapes) RequireShape(c, key, shape, optional: false);
        var unknown = c.Adapter.Names.Where(n => !expected.Contains(n)).ToList();
        if (unknown.Count > 0)
            throw new InvalidClientUpdateException(c.ClientId, $"unexpected tensors {string.Join(", ", unknown.Take(5))}; send only the task's adapter keys.");
        RequireFinite(c);
    }

    /// <summary>
    /// One kernel pass per tensor and a single host sync for the whole update: a sum is finite when no element is NaN
    /// or ±∞. Only a non-finite sum (a bad value, or a rare overflow of huge finite values) pays for the exact
    /// per-tensor check that names the tensor. Per-tensor <c>isfinite().all().item()</c> cost most of an aggregation.
    /// (One sum over a whole packed update overflows sooner than per-tensor sums; that only costs the exact check.)
    /// </summary>
    private static void RequireFinite(ClientContribution c)
    {
        if (c.Adapter.Count == 0) return;
        if (c.Adapter.Flat is { } flat)
        {
            // A packed update (every admitted one) is checked with one kernel over its whole buffer.
            using var total = flat.sum();
            if (total.isfinite().item<bool>()) return;
        }
        else
        {
            using var sums = TorchSharp.torch.stack(c.Adapter.Select(kv => kv.Value.sum()).ToList());
            if (sums.isfinite().all().item<bool>()) return;
        }
        foreach (var (name, t) in c.Adapter)
            if (!t.isfinite().all().item<bool>())
                throw new InvalidClientUpdateException(c.ClientId, $"tensor '{name}' holds NaN or infinity; lower the client's learning rate or drop this update.");
    }

    private static void RequireShape(ClientContribution c, string key, long[] shape, bool optional)
    {
        if (!c.Adapter.TryGet(key, out var t))
        {
            if (optional) return;
            throw new InvalidClientUpdateException(c.ClientId, $"tensor '{key}' is missing.");
        }
        if (t.dtype != TorchSharp.torch.ScalarType.Float32)
            throw new InvalidClientUpdateException(c.ClientId, $"tensor '{key}' has dtype {t.dtype}; updates are float32.");
        if (!t.shape.SequenceEqual(shape))
            throw new InvalidClientUpdateException(c.ClientId,
                $"tensor '{key}' has shape [{string.Join(",", t.shape)}], expected [{string.Join(",", shape)}] (task rank {c.Rank}).");
    }
}
