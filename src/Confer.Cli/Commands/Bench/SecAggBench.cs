using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Confer.Federation;
using Confer.Federation.Simulation;
using Confer.Federation.Updates;
using Confer.Models;
using Confer.Privacy.SecureAggregation;
using static Confer.Privacy.SecureAggregation.SecAggMessages;
using static TorchSharp.torch;

namespace Confer.Cli.Commands.Bench;

/// <summary>
/// One secure-aggregation round of <c>n</c> clients, driven message by message between the real
/// <see cref="SecureAggregationClient"/>s and the real <see cref="SecureAggregationServer"/> (the exchanges
/// <see cref="SecureAggregationTraining"/> runs on a pool, without the network and without training): each phase is
/// timed, and every message's tensor bytes are counted as the round's traffic ledger counts them. Clients run one after
/// another in this process, so a client's figure is its own cost, the server's the whole round's.
/// </summary>
internal static class SecAggBench
{
    /// <summary>Examples each client claims (weights travel masked as n_k/cap, as in weighted FedAvg).</summary>
    private const int Examples = 16;

    /// <summary>Wall and CPU seconds of one phase.</summary>
    public readonly record struct Span(double Wall, double Cpu)
    {
        public static Span operator +(Span a, Span b) => new(a.Wall + b.Wall, a.Cpu + b.Cpu);

        public Span Per(int n) => new(Wall / n, Cpu / n);
    }

    /// <summary>One round's figures.</summary>
    /// <param name="ClientKeys">Per client (mean): advertise two P-256 keys, then Shamir-share b_u and s_u and encrypt n − 1 share messages.</param>
    /// <param name="ClientMask">Per client (mean): Δ = trained − start, fixed-point encoding and the n masks (self mask + n − 1 pairwise).</param>
    /// <param name="ClientReveal">Per client (mean): decrypt the n − 1 share messages and reveal one share per peer.</param>
    /// <param name="ServerRelay">Whole round: check and relay keys and encrypted shares.</param>
    /// <param name="ServerAggregate">Whole round: check and add every masked input into the modular sum.</param>
    /// <param name="ServerUnmask">Whole round: reconstruct every secret from t shares, remove the masks, decode the mean.</param>
    /// <param name="UpBytes">Per client (mean): bytes of everything it sent.</param>
    /// <param name="DownBytes">Per client (mean): bytes of everything it received.</param>
    /// <param name="MaxError">Largest |secure mean − plain mean| over the coordinates (the fixed-point bound applies).</param>
    public sealed record Result(int Clients, int Dropped, Span ClientKeys, Span ClientMask, Span ClientReveal, Span ServerRelay, Span ServerAggregate,
        Span ServerUnmask, long UpBytes, long DownBytes, double MaxError);

    /// <summary>
    /// Runs one round of <paramref name="clients"/> clients; with <paramref name="dropout"/> the last client drops after
    /// sharing keys (its masked input never arrives), so the server also recovers its mask key and removes its pairwise masks.
    /// </summary>
    public static Result Run(NamedTensors start, NamedTensors trained, int clients, bool dropout)
    {
        var ids = Enumerable.Range(0, clients).Select(FederatedData.ClientId).Order(StringComparer.Ordinal).ToList();
        var threshold = clients / 2 + 1;
        var server = new SecureAggregationServer(RandomNumberGenerator.GetHexString(16, lowercase: true), threshold);
        var members = ids.ToDictionary(id => id, id => new SecureAggregationClient(id), StringComparer.Ordinal);
        var up = 0L;
        var down = 0L;
        Span keys = default, mask = default, reveal = default, relay = default, aggregate = default, unmask = default;
        try
        {
            // AdvertiseKeys
            var advertised = new Dictionary<string, NamedTensors>(StringComparer.Ordinal);
            foreach (var id in ids)
            {
                var task = Setup(id, AdvertiseKeys, server, null);
                var reply = Time(ref keys, () => members[id].Setup(task)).Adapter;
                up += reply.ByteCount;
                advertised[id] = reply;
            }
            Time(ref relay, () =>
            {
                foreach (var reply in advertised.Values) SecureAggregationServer.CheckKeys(reply);
                server.SetParticipants(advertised);
            });
            foreach (var reply in advertised.Values) reply.Dispose();

            // ShareKeys
            var shares = new Dictionary<string, NamedTensors>(StringComparer.Ordinal);
            foreach (var id in ids)
            {
                var task = Setup(id, ShareKeys, server, Time(ref relay, server.KeyDirectory));
                down += task.Adapter!.ByteCount;
                var reply = Time(ref keys, () => members[id].Setup(task)).Adapter;
                task.Adapter.Dispose();
                Time(ref relay, () => server.CheckShares(id, reply));
                up += reply.ByteCount;
                shares[id] = reply;
            }
            Time(ref relay, () => server.AddShares(shares));
            foreach (var reply in shares.Values) reply.Dispose();

            // MaskedInput: the training task carries the global adapter (as plain FedAvg's does); the reply is y_u.
            var fixedPoint = FixedPoint.ForContributors(8, server.Participants.Count);
            var senders = dropout ? ids.Take(ids.Count - 1).ToList() : ids;
            foreach (var id in senders)
            {
                var task = MaskedTask(id, start, server, fixedPoint);
                down += start.ByteCount;
                var update = new ClientUpdate(id, trained, Examples, new Dictionary<string, double>());
                var reply = Time(ref mask, () => members[id].Mask(update, task)).Adapter;
                up += reply.ByteCount;
                Time(ref aggregate, () =>
                {
                    SecureAggregationServer.CheckMasked(reply, CountWords + start.ElementCount);
                    server.AddMasked(id, reply);
                });
                reply.Dispose();
            }

            // Unmask
            foreach (var id in server.Contributors)
            {
                var inbox = Time(ref relay, () => server.Inbox(id));
                var task = Setup(id, Unmask, server, inbox);
                task = task with { Config = task.Config.With(SurvivorsKey, server.SurvivorBitmap).With(MaskedKey, server.ContributorBitmap) };
                down += inbox.ByteCount;
                var reply = Time(ref reveal, () => members[id].Setup(task)).Adapter;
                inbox.Dispose();
                up += reply.ByteCount;
                Time(ref unmask, () =>
                {
                    server.CheckReveal(reply);
                    server.AddReveal(id, reply);
                });
                reply.Dispose();
            }
            var contributors = server.Contributors.Count;
            using var mean = Time(ref unmask, () =>
            {
                var sum = server.Unmask();
                var cap = (double)Examples;
                return fixedPoint.DecodeSum(sum.AsSpan(CountWords), contributors, [sum.Length - CountWords]).mul(cap / sum[0]);
            });
            using var plain = Flat(trained).sub(Flat(start));
            var error = mean.sub(plain).abs().max().item<double>();
            return new Result(clients, dropout ? 1 : 0, keys.Per(clients), mask.Per(senders.Count), reveal.Per(contributors), relay, aggregate, unmask,
                up / clients, down / clients, error);
        }
        finally
        {
            foreach (var m in members.Values) m.Dispose();
        }
    }

    /// <summary>The update flattened in the order the masked vector holds it (tensor names in ordinal order, as <see cref="UpdateSpace"/> lays it out).</summary>
    private static Tensor Flat(NamedTensors t) => cat([.. t.Names.Order(StringComparer.Ordinal).Select(n => t[n].flatten().to(ScalarType.Float64))], 0);

    private static ClientTask Setup(string id, string step, SecureAggregationServer server, NamedTensors? tensors) =>
        new(1, id, tensors, null, TrainingBench.LoraRank, 16)
        {
            Kind = TaskKind.Setup,
            Config = TaskConfig.Empty.With(StepKey, step).With(SessionKey, server.Session).With(ThresholdKey, server.Threshold.ToString(CultureInfo.InvariantCulture)),
        };

    private static ClientTask MaskedTask(string id, NamedTensors start, SecureAggregationServer server, FixedPoint fixedPoint) =>
        new(1, id, start, null, TrainingBench.LoraRank, 16)
        {
            Config = TaskConfig.Empty.With(UpdateSpace.FormKey, UpdateSpace.Name(UpdateForm.AdapterDelta)).With(StepKey, MaskedInput).With(SessionKey, server.Session)
                .With(SurvivorsKey, server.SurvivorBitmap).With(ClipRangeKey, fixedPoint.ClipRange)
                .With(TargetRangeKey, fixedPoint.TargetRange.ToString(CultureInfo.InvariantCulture)).With(WeightKey, $"examples/{Examples}"),
        };

    private static T Time<T>(ref Span total, Func<T> work)
    {
        var cpu = Cpu();
        var clock = Stopwatch.StartNew();
        var result = work();
        total += new Span(clock.Elapsed.TotalSeconds, Cpu() - cpu);
        return result;
    }

    private static void Time(ref Span total, Action work) => Time(ref total, () =>
    {
        work();
        return 0;
    });

    private static double Cpu()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime.TotalSeconds;
    }
}
