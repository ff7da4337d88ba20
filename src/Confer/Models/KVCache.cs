using static TorchSharp.torch;

namespace Confer.Models;

/// <summary>
/// Per-layer key/value cache for incremental decoding. Cached tensors are detached from dispose scopes so they survive
/// the per-step scopes of the generation loop; the cache frees them itself (on growth and on <see cref="Dispose"/>).
/// </summary>
public sealed class KVCache : IDisposable
{
    private readonly (Tensor Key, Tensor Value)?[] _layers;

    public KVCache(int layerCount) => _layers = new (Tensor, Tensor)?[layerCount];

    /// <summary>Number of positions already cached.</summary>
    public long Length => _layers[0] is { } first ? first.Key.shape[2] : 0;

    /// <summary>Appends this step's keys/values ([batch, kvHeads, seq, headDim]); returns the full cached ones.</summary>
    public (Tensor Key, Tensor Value) Append(int layer, Tensor key, Tensor value)
    {
        Tensor k, v;
        if (_layers[layer] is { } old)
        {
            k = cat([old.Key, key], 2).DetachFromDisposeScope();
            v = cat([old.Value, value], 2).DetachFromDisposeScope();
            old.Key.Dispose();
            old.Value.Dispose();
        }
        else
        {
            k = key.detach().DetachFromDisposeScope();
            v = value.detach().DetachFromDisposeScope();
        }
        _layers[layer] = (k, v);
        return (k.alias(), v.alias());
    }

    public void Dispose()
    {
        foreach (var entry in _layers)
        {
            entry?.Key.Dispose();
            entry?.Value.Dispose();
        }
        Array.Clear(_layers);
    }
}
