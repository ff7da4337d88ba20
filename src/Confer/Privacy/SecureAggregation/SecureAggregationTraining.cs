using System.Globalization;
using System.Security.Cryptography;
using Confer.Federation;
using Confer.Federation.Messages;
using Confer.Federation.Rounds;
using Confer.Models;
using static Confer.Privacy.SecureAggregation.SecAggMessages;
using static TorchSharp.torch;
using Confer.Federation.Scheduling;

namespace Confer.Privacy.SecureAggregation;

/// <summary>
/// A round under secure aggregation, as four exchanges on the driver's pool (so simulation and deployment run the
/// same protocol): AdvertiseKeys → ShareKeys → MaskedInput (the strategy's training task, through the run's message
/// stages; the reply is y_u) → Unmask. The server holds only masked vectors and their sum; from Σ w_k·Δ_k and Σ w_k it
/// forms the mean update and hands it to <see cref="Strategy.AggregateMean"/>. Weights are the example counts (or 1
/// each under DP), masked with the update, so the server learns Σ n_k and Σ n_k Δ_k, not any n_k or Δ_k.
/// A client that drops after ShareKeys costs nothing but its update; one that drops after MaskedInput still counts,
/// because the others reveal shares of its self-mask. With fewer than the threshold at any step the round fails.
/// </summary>
public sealed class SecureAggregationTraining : ITrainingProtocol
{
    public async Task<TrainingOutcome> RunAsync(RoundServices services, int round, int attempt, RoundPlan plan, TrafficLedger ledger, CancellationToken ct)
    {
        var settings = services.Settings;
        var tasks = services.WithStrategy(s => s.ConfigureTrain(round, plan.Clients, plan.Ranks));
        var ids = tasks.Select(t => t.ClientId).ToList();
        var dropped = new Dictionary<string, string>(StringComparer.Ordinal);
        TrainingOutcome Fail(string why) => new(ids, null, Dropped(dropped), why);
        try
        {
            var threshold = settings.SecAggThreshold > 0 ? settings.SecAggThreshold : ids.Count / 2 + 1;
            if (threshold <= ids.Count / 2 || threshold > ids.Count)
                return Fail($"secagg_threshold {threshold} must be more than half of the {ids.Count} selected clients and at most all of them");
            var (layout, uniform) = services.WithStrategy(s => (s.UpdateLayout(ids), s.UsesUniformWeights));
            var length = CountWords + layout.Sum(l => l.Shape.Aggregate(1L, (a, b) => a * b));
            var server = new SecureAggregationServer(RandomNumberGenerator.GetHexString(16, lowercase: true), threshold);
            var byId = tasks.ToDictionary(t => t.ClientId, StringComparer.Ordinal);

            // 0. AdvertiseKeys
            services.Progress.Phase("secure aggregation: advertising keys", round);
            var keys = await SetupAsync(services, round, attempt, "keys", [.. ids.Select(id => Setup(byId[id], AdvertiseKeys, server, null))], ledger,
                reply => SecureAggregationServer.CheckKeys(reply.Adapter), dropped, ct).ConfigureAwait(false);
            using (Owned(keys)) server.SetParticipants(keys);
            if (server.Participants.Count < threshold) return Fail(TooFew("advertised keys", server.Participants.Count, threshold));

            // 1. ShareKeys
            services.Progress.Phase("secure aggregation: sharing keys", round);
            var shareTasks = server.Participants.Select(id => Setup(byId[id], ShareKeys, server, server.KeyDirectory())).ToList();
            var shares = await SetupAsync(services, round, attempt, "shares", shareTasks, ledger, reply => server.CheckShares(reply.ClientId, reply.Adapter), dropped, ct).ConfigureAwait(false);
            using (Owned(shares)) server.AddShares(shares);
            if (server.Survivors.Count < threshold) return Fail(TooFew("shared keys", server.Survivors.Count, threshold));

            // 2. MaskedInput: the strategy's training task, encoded by the run's stages, plus what masking needs.
            var fixedPoint = FixedPoint.ForContributors(settings.SecAggClipRange, server.Participants.Count);
            var weight = uniform ? "uniform" : $"examples/{settings.MaxClientRecords}";
            var metrics = new Dictionary<string, IReadOnlyDictionary<string, double>>(StringComparer.Ordinal);
            var masked = await MaskedInputAsync(services, round, attempt, [.. server.Survivors.Select(id => byId[id])], server, fixedPoint, weight, length, ledger, dropped,
                metrics, ct).ConfigureAwait(false);
            if (masked < Math.Max(threshold, services.Policy.MinReturned))
                return Fail(TooFew("sent masked input", masked, Math.Max(threshold, services.Policy.MinReturned)));

            // 3. Unmask
            services.Progress.Phase("secure aggregation: unmasking", round);
            var unmaskTasks = server.Contributors.Select(id => Setup(byId[id], Unmask, server, server.Inbox(id))).ToList();
            var unmaskDropped = new Dictionary<string, string>(StringComparer.Ordinal);
            var reveals = await SetupAsync(services, round, attempt, "unmask", unmaskTasks, ledger, reply => server.CheckReveal(reply.Adapter), unmaskDropped, ct).ConfigureAwait(false);
            using (Owned(reveals))
                foreach (var (id, reply) in reveals) server.AddReveal(id, reply);
            foreach (var (id, why) in unmaskDropped)
                services.Progress.Warning($"round {round}: {id} sent its masked input but no unmasking shares ({why}); its input counts if the others' shares suffice");

            uint[] sum;
            try
            {
                sum = server.Unmask();
            }
            catch (InvalidDataException e)
            {
                return Fail($"secure aggregation could not unmask the sum: {e.Message}");
            }
            var contributors = server.Contributors;
            var decoded = Decode(sum, contributors.Count, fixedPoint, layout, uniform, settings.MaxClientRecords);
            if (decoded.Error is { } error) return Fail(error);
            using var mean = decoded.Mean!;
            var clientMetrics = MeanMetrics(contributors.Select(id => metrics[id]).ToList());
            clientMetrics["secagg/clients"] = contributors.Count;
            var (summary, failure) = services.AggregateSafely(s => s.AggregateMean(round, contributors, mean, decoded.Examples, clientMetrics, decoded.Unclipped));
            return new TrainingOutcome(ids, summary, Dropped(dropped), failure is null ? null : $"aggregation failed ({failure}); the global state is unchanged");
        }
        finally
        {
            MessageTensors.Release([.. tasks]);
        }
    }

    /// <summary>The masked training exchange; returns how many masked inputs are in the sum.</summary>
    private static async Task<int> MaskedInputAsync(RoundServices services, int round, int attempt, IReadOnlyList<ClientTask> tasks, SecureAggregationServer server,
        FixedPoint fixedPoint, string weight, long length, TrafficLedger ledger, Dictionary<string, string> dropped,
        Dictionary<string, IReadOnlyDictionary<string, double>> metrics, CancellationToken ct)
    {
        var wire = new List<ClientTask>(tasks.Count);
        ExchangeResult result;
        try
        {
            foreach (var task in tasks)
            {
                var encoded = services.Pipeline.EncodeTask(task);
                var config = encoded.Config.With(StepKey, MaskedInput).With(SessionKey, server.Session).With(SurvivorsKey, server.SurvivorBitmap)
                    .With(ClipRangeKey, fixedPoint.ClipRange).With(TargetRangeKey, fixedPoint.TargetRange.ToString(CultureInfo.InvariantCulture)).With(WeightKey, weight);
                wire.Add(encoded with { Config = config });
                ledger.RecordDownlink(task.ClientId, TransferCost.Of(task, encoded));
            }
            services.Progress.Phase("training", round);
            result = await services.Pool.ExchangeAsync(new Exchange(round, attempt, TaskKind.Train, wire, reply =>
            {
                ledger.RecordUplink(reply.ClientId, TransferCost.Of(reply.Adapter));
                try
                {
                    ReportBounds.CheckMetrics(reply);
                    SecureAggregationServer.CheckMasked(reply.Adapter, length);
                    return reply;
                }
                catch (InvalidDataException e)
                {
                    reply.Adapter.Dispose();
                    throw new InvalidClientUpdateException(reply.ClientId, e.Message);
                }
            }) { Step = "masked" }, ct).ConfigureAwait(false);
        }
        finally
        {
            foreach (var (encoded, task) in wire.Zip(tasks)) MessageTensors.ReleaseBaseDelta(encoded, task);
            MessageTensors.Release([.. wire]);
        }
        foreach (var d in result.Dropped) dropped[d.ClientId] = d.Reason;
        try
        {
            foreach (var reply in result.Replies)
            {
                server.AddMasked(reply.ClientId, reply.Adapter);
                metrics[reply.ClientId] = reply.Metrics;
            }
        }
        finally
        {
            MessageTensors.Release([.. result.Replies]);
        }
        return result.Replies.Count;
    }

    /// <summary>One set-up exchange; returns the admitted replies' tensors by client (the caller owns them).</summary>
    private static async Task<Dictionary<string, NamedTensors>> SetupAsync(RoundServices services, int round, int attempt, string step, IReadOnlyList<ClientTask> tasks,
        TrafficLedger ledger, Action<ClientUpdate> check, Dictionary<string, string> dropped, CancellationToken ct)
    {
        ExchangeResult result;
        try
        {
            foreach (var t in tasks) ledger.RecordDownlink(t.ClientId, TransferCost.Of(t));
            result = await services.Pool.ExchangeAsync(new Exchange(round, attempt, TaskKind.Setup, tasks, reply =>
            {
                ledger.RecordUplink(reply.ClientId, TransferCost.Of(reply.Adapter));
                try
                {
                    if (reply.NumExamples != 0 || reply.Metrics.Count != 0) throw new InvalidDataException("a set-up reply carries no example count and no metrics");
                    check(reply);
                    return reply;
                }
                catch (Exception e) when (e is InvalidDataException or InvalidOperationException)
                {
                    reply.Adapter.Dispose();
                    throw new InvalidClientUpdateException(reply.ClientId, $"secure aggregation ({step}): {e.Message}");
                }
            }) { Step = step }, ct).ConfigureAwait(false);
        }
        finally
        {
            MessageTensors.Release([.. tasks]);
        }
        foreach (var d in result.Dropped) dropped[d.ClientId] = d.Reason;
        return result.Replies.ToDictionary(r => r.ClientId, r => r.Adapter, StringComparer.Ordinal);
    }

    /// <summary>A set-up task: the step and session in the config, its tensors (owned by the task), no model.</summary>
    private static ClientTask Setup(ClientTask train, string step, SecureAggregationServer server, NamedTensors? tensors)
    {
        var config = TaskConfig.Empty.With(StepKey, step).With(SessionKey, server.Session).With(ThresholdKey, server.Threshold.ToString(CultureInfo.InvariantCulture));
        if (step == Unmask) config = config.With(SurvivorsKey, server.SurvivorBitmap).With(MaskedKey, server.ContributorBitmap);
        return new ClientTask(train.Round, train.ClientId, tensors, null, train.LoraRank, train.LoraAlpha) { Kind = TaskKind.Setup, Config = config };
    }

    /// <summary>Σ Q(w·Δ) and the counts → the mean update in the strategy's layout, Σ n_k and the unclipped count; or why not.</summary>
    private static (NamedTensors? Mean, long Examples, int Unclipped, string? Error) Decode(uint[] sum, int contributors, FixedPoint fixedPoint,
        IReadOnlyList<(string Name, long[] Shape)> layout, bool uniform, int cap)
    {
        long weights = sum[0];
        var unclipped = (int)sum[1];
        var (low, high) = uniform ? (contributors, contributors) : (contributors, (long)contributors * cap);
        if (weights < low || weights > high)
            return (null, 0, 0, $"the unmasked sum of weights is {weights}, impossible for {contributors} clients (expected {low}..{high}): a client sent a malformed masked input");
        if (unclipped > contributors)
            return (null, 0, 0, $"the unmasked count of unclipped updates is {unclipped}, more than the {contributors} clients: a client sent a malformed masked input");
        var scale = (uniform ? 1.0 : cap) / weights;
        var mean = new NamedTensors();
        using var scope = NewDisposeScope();
        var values = fixedPoint.DecodeSum(sum.AsSpan(CountWords), contributors, [sum.Length - CountWords]).mul(scale);
        long offset = 0;
        foreach (var (name, shape) in layout)
        {
            var count = shape.Aggregate(1L, (a, b) => a * b);
            mean.Add(name, values.narrow(0, offset, count).reshape(shape).to(ScalarType.Float32));
            offset += count;
        }
        return (mean, uniform ? 0 : weights, unclipped, null);
    }

    /// <summary>Unweighted means of the plaintext client metrics every contributor reported (the weights stay masked).</summary>
    private static Dictionary<string, double> MeanMetrics(IReadOnlyList<IReadOnlyDictionary<string, double>> metrics)
    {
        var means = new Dictionary<string, double>(StringComparer.Ordinal);
        if (metrics.Count == 0) return means;
        foreach (var key in metrics[0].Keys.Where(k => metrics.All(m => m.ContainsKey(k)))) means[key] = metrics.Average(m => m[key]);
        return means;
    }

    private static string TooFew(string what, int count, int needed) => $"secure aggregation: {count} client(s) {what}, {needed} are needed";

    private static IReadOnlyList<DroppedClient> Dropped(Dictionary<string, string> dropped) =>
        [.. dropped.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => new DroppedClient(d.Key, d.Value))];

    private static IDisposable Owned(Dictionary<string, NamedTensors> replies) => new Releaser(replies.Values);

    private sealed class Releaser(IEnumerable<NamedTensors> sets) : IDisposable
    {
        public void Dispose()
        {
            foreach (var s in sets) s.Dispose();
        }
    }
}
