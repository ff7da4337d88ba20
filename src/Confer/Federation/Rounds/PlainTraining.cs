using Confer.Federation.Messages;
using Confer.Federation.Scheduling;

namespace Confer.Federation.Rounds;

/// <summary>
/// The ordinary round: configure one training task per selected client, encode it, exchange once, admit each reply
/// (count its bytes, bound what the client reports, decode, check it against its task and <c>max_update_norm</c>), and
/// let the strategy aggregate the admitted updates, dropping any it refuses.
/// </summary>
public sealed class PlainTraining : ITrainingProtocol
{
    public async Task<TrainingOutcome> RunAsync(RoundServices services, int round, int attempt, RoundPlan plan, TrafficLedger ledger, CancellationToken ct)
    {
        var tasks = services.WithStrategy(s => s.ConfigureTrain(round, plan.Clients, plan.Ranks));
        var sent = tasks.ToDictionary(t => t.ClientId, StringComparer.Ordinal);
        var ids = tasks.Select(t => t.ClientId).ToList();
        var wire = new List<ClientTask>(tasks.Count);
        ExchangeResult result;
        try
        {
            foreach (var task in tasks)
            {
                var encoded = services.Pipeline.EncodeTask(task);
                wire.Add(encoded);
                ledger.RecordDownlink(task.ClientId, TransferCost.Of(task, encoded));
            }
            services.Progress.Phase("training", round);
            var exchange = new Exchange(round, attempt, TaskKind.Train, wire, u => AdmitUpdate(services, u, sent[u.ClientId], ledger));
            result = await services.Pool.ExchangeAsync(exchange, ct).ConfigureAwait(false);
        }
        finally
        {
            foreach (var (encoded, task) in wire.Zip(tasks)) MessageTensors.ReleaseBaseDelta(encoded, task);
            MessageTensors.Release([.. wire, .. tasks]);
        }
        try
        {
            if (result.Replies.Count < services.Policy.MinReturned)
                return new TrainingOutcome(ids, null, result.Dropped,
                    $"{result.Replies.Count} update(s) arrived, min_returned is {services.Policy.MinReturned} " +
                    $"(dropped: {(result.Dropped.Count == 0 ? "none" : string.Join("; ", result.Dropped.Select(d => $"{d.ClientId}: {d.Reason}")))})");
            var refused = new List<DroppedClient>();
            var (summary, failure) = services.AggregateSafely(strategy =>
                RoundAggregator.Aggregate(strategy, round, result.Replies, (client, reason) => refused.Add(new DroppedClient(client, reason))).Summary);
            foreach (var d in refused) services.Progress.Warning($"round {round}: dropped {d.ClientId}: {d.Reason}");
            return new TrainingOutcome(ids, summary, [.. result.Dropped, .. refused], failure is null ? null : $"aggregation failed ({failure}); the global state is unchanged")
            {
                Timings = result.Timings, Metrics = result.Metrics,
            };
        }
        finally
        {
            MessageTensors.Release([.. result.Replies]);
        }
    }

    /// <summary>
    /// The gate for one training reply (any thread): count what travelled, bound what the client reports, decode,
    /// check against the task it answers. Takes the reply; returns the decoded update, or throws
    /// <see cref="InvalidClientUpdateException"/> having disposed both.
    /// </summary>
    private static ClientUpdate AdmitUpdate(RoundServices services, ClientUpdate wire, ClientTask task, TrafficLedger ledger)
    {
        // What travelled counts even when the update is refused; its raw size is known once it decodes.
        var cost = TransferCost.Of(wire.Adapter);
        ClientUpdate? update = null;
        try
        {
            ReportBounds.CheckTraining(wire, services.Settings.MaxClientRecords);
            update = services.Pipeline.DecodeUpdate(wire, task);
            cost = TransferCost.Of(update.Adapter, wire.Adapter);
            // Held in one flat buffer from here on, the update is checked and averaged with a kernel per client
            // rather than per tensor (a LoRA update is ~100 small tensors). A non-fp32 one stays as sent and is refused.
            if (update.Adapter.PackedCopy() is { } packed)
            {
                var unpacked = update.Adapter;
                update = update with { Adapter = packed };
                if (!ReferenceEquals(unpacked, wire.Adapter)) unpacked.Dispose();
            }
            var decoded = update;
            services.WithStrategy(s => s.CheckUpdate(decoded));
            if (UpdateNormBound.Violation(update.Adapter, task.Adapter, services.Settings.MaxUpdateNorm) is { } violation)
                throw new InvalidClientUpdateException(wire.ClientId, violation);
            if (!ReferenceEquals(update.Adapter, wire.Adapter)) wire.Adapter.Dispose();
            return update;
        }
        catch
        {
            MessageTensors.Release(update, wire);
            throw;
        }
        finally
        {
            ledger.RecordUplink(wire.ClientId, cost);
        }
    }
}
