using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Federation.Strategies;

/// <summary>
/// The last round whose server state each client has received. Strategies that send incremental payloads (FLoRA's
/// stacked updates, FFA-LoRA's frozen A once) use it to count exactly what a client still needs.
/// </summary>
internal sealed class ClientSyncBook
{
    private readonly Dictionary<string, int> _lastRound = new(StringComparer.Ordinal);

    /// <summary>0 when the client never received anything.</summary>
    public int LastSynced(string clientId) => _lastRound.TryGetValue(clientId, out var r) ? r : 0;

    public void MarkSynced(string clientId, int round) => _lastRound[clientId] = round;

    /// <summary>Writes one int64 scalar per client under <c>prefix + clientId</c>.</summary>
    public void Export(string prefix, NamedTensors into)
    {
        foreach (var (clientId, round) in _lastRound.OrderBy(p => p.Key, StringComparer.Ordinal))
            into.Add(prefix + clientId, tensor((long)round));
    }

    /// <summary>Replaces the book with the <c>prefix</c> entries of <paramref name="state"/> and removes them from it.</summary>
    public void Import(string prefix, Dictionary<string, Tensor> state)
    {
        _lastRound.Clear();
        foreach (var key in state.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList())
        {
            _lastRound[key[prefix.Length..]] = (int)state[key].item<long>();
            state.Remove(key);
        }
    }
}
