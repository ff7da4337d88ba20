using Confer.Federation;
using Confer.Federation.Clients;
using Confer.Federation.Messages;
using Confer.Models;

namespace Confer.Compression;

/// <summary>
/// The message stage that runs the run's codec chains (<see cref="CodecPlan"/>): the client's downlink chain on its
/// tasks (global adapter and merged ΔW), its uplink chain on its updates. The chain's id travels with each message; a
/// receiver refuses a message whose id is not that client's chain (an unknown id never reaches a decoder), and a
/// decoder's refusal becomes a refused update naming the tensor.
/// <para>
/// A lossy uplink chain is given each trained tensor as its change from the task's tensor of the same name, and the
/// server adds the decoded change back to the exact tensor it sent: the compression error is a fraction of the
/// update, not of the weights, and a top-k residual (error feedback) is a residual of updates, as in the literature.
/// A tensor the task did not carry (a freshly initialised LoRA module, FLoRA) is sent whole. A lossless chain sends the
/// trained adapter bit for bit. Tasks are always sent whole: clients keep no copy of the global model between rounds.
/// </para>
/// </summary>
/// <param name="plan">The chains of each client and direction.</param>
/// <param name="seed">The run's seed; stochastic stages derive their draws from it, the round and the client.</param>
/// <param name="clientState">Where clients keep error-feedback residuals; null on a server, which never encodes an update.</param>
public sealed class CodecStage(CodecPlan plan, int seed, IClientStateStore? clientState = null) : MessageHook
{
    public override string Name => $"codecs ({Plan})";

    public CodecPlan Plan { get; } = plan;

    /// <summary>Where this process's clients keep state between rounds (null on a server).</summary>
    public IClientStateStore? ClientState { get; } = clientState;

    public override ClientTask EncodeTask(ClientTask task)
    {
        var chain = Plan.Downlink(task.ClientId);
        var context = Context(task.ClientId, task.Round, CodecDirection.Downlink);
        var adapter = Encode(chain, task.Adapter, context);
        try
        {
            return task with { Adapter = adapter, BaseDelta = Encode(chain, task.BaseDelta, context), Codec = chain.Id };
        }
        catch
        {
            if (!ReferenceEquals(adapter, task.Adapter)) adapter?.Dispose();
            throw;
        }
    }

    public override ClientTask DecodeTask(ClientTask task)
    {
        var chain = Plan.Downlink(task.ClientId);
        if (task.Codec != chain.Id)
            throw new InvalidDataException($"the task is encoded with codec '{Printable(task.Codec)}', but this run's downlink_codec is '{chain.Id}'");
        var context = Context(task.ClientId, task.Round, CodecDirection.Downlink);
        var adapter = Decode(chain, task.Adapter, context);
        try
        {
            return task with { Adapter = adapter, BaseDelta = Decode(chain, task.BaseDelta, context), Codec = "" };
        }
        catch
        {
            if (!ReferenceEquals(adapter, task.Adapter)) adapter?.Dispose();
            throw;
        }
    }

    public override ClientUpdate EncodeUpdate(ClientUpdate update, ClientTask task)
    {
        var chain = Plan.Uplink(update.ClientId);
        var context = Context(update.ClientId, task.Round, CodecDirection.Uplink) with { State = ClientState };
        if (chain.Lossless) return update with { Adapter = chain.Encode(update.Adapter, context), Codec = chain.Id };
        var changes = update.Adapter.Names.Where(n => task.Adapter is { } a && a.TryGet(n, out var start) && start.shape.SequenceEqual(update.Adapter[n].shape))
            .ToHashSet(StringComparer.Ordinal);
        var payload = new NamedTensors();
        try
        {
            using (TorchSharp.torch.no_grad())
            using (TorchSharp.torch.NewDisposeScope()) // frees the temporaries; Add keeps the changes
                foreach (var (name, t) in update.Adapter)
                    payload.Add(name, changes.Contains(name) ? t.detach().sub(task.Adapter![name].to(t.device)) : t.alias());
            var encoded = chain.Encode(payload, context with { Changes = changes });
            return update with { Adapter = encoded, Codec = chain.Id };
        }
        finally
        {
            payload.Dispose();
        }
    }

    public override ClientUpdate DecodeUpdate(ClientUpdate update, ClientTask task)
    {
        var chain = Plan.Uplink(update.ClientId);
        if (update.Codec != chain.Id)
            throw new InvalidClientUpdateException(update.ClientId, $"its update is encoded with codec '{Printable(update.Codec)}', but this run's uplink_codec is '{chain.Id}'.");
        NamedTensors? decoded = null;
        try
        {
            decoded = chain.Decode(update.Adapter, Context(update.ClientId, task.Round, CodecDirection.Uplink));
            if (!chain.Lossless && task.Adapter is { } start) AddStart(decoded, start);
            return update with { Adapter = decoded, Codec = "" };
        }
        catch (InvalidDataException e)
        {
            if (decoded is not null && !ReferenceEquals(decoded, update.Adapter)) decoded.Dispose();
            throw new InvalidClientUpdateException(update.ClientId, $"its update cannot be decoded with '{chain.Id}': {e.Message}");
        }
    }

    /// <summary>Turns decoded changes back into trained tensors: start + change, for every tensor the task carried.</summary>
    private static void AddStart(NamedTensors decoded, NamedTensors start)
    {
        using var noGrad = TorchSharp.torch.no_grad();
        using var scope = TorchSharp.torch.NewDisposeScope(); // frees the temporaries; Replace keeps the sums
        foreach (var name in decoded.Names.ToList())
        {
            if (!start.TryGet(name, out var s)) continue;
            var change = decoded[name];
            if (!change.shape.SequenceEqual(s.shape))
                throw new InvalidDataException($"tensor '{name}' decodes to shape {HostTensor.Describe(change.shape)}; the task's is {HostTensor.Describe(s.shape)}");
            decoded.Replace(name, s.to(change.device).add(change));
        }
    }

    private CodecContext Context(string clientId, int round, CodecDirection direction) => new(clientId, round, seed) { Direction = direction };

    private static NamedTensors? Encode(ITensorCodec codec, NamedTensors? tensors, CodecContext context) => tensors is null ? null : codec.Encode(tensors, context);

    private static NamedTensors? Decode(ITensorCodec codec, NamedTensors? tensors, CodecContext context) => tensors is null ? null : codec.Decode(tensors, context);

    /// <summary>A peer-chosen string, cut and stripped of control characters before it reaches a log line.</summary>
    private static string Printable(string s) => new([.. s.Take(60).Select(c => char.IsControl(c) ? '?' : c)]);
}
