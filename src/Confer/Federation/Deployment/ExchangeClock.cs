using System.Diagnostics;
using Confer.Federation.Network;
using Confer.Federation.Rounds;

namespace Confer.Federation.Deployment;

/// <summary>
/// What the gRPC gate measures of each client in one training exchange, on the server's monotonic clock: when its
/// task download began and ended, when its update's header arrived and when its last frame did. It turns them into
/// the <see cref="ClientTiming"/>s the round's record keeps — download, compute (task delivered → update begun) and
/// upload, with the bytes each way as they travelled — which the <c>deadline</c> scheduler predicts from
/// (<see cref="ClientHistory"/>), exactly as it does with a simulated network's timings. Every time is the server's;
/// of the client's report only the tokens it trained on are used, bounded, since they only scale its work.
/// <para>
/// A client dropped for missing the deadline would otherwise never be timed, and a client never timed is one the
/// scheduler cannot rule out: it would be selected, and miss, every round. So it gets a censored timing — what the
/// server knows is a lower bound: its download, and the time from delivery to the close as compute (or the
/// download so far, if that had not ended), for the mean work and upload of the clients that made it (they trained
/// the same task). Without a client that made it, there is no work to scale by, and it stays untimed.
/// </para>
/// Thread-safe: downloads and uploads of different clients report concurrently.
/// </summary>
internal sealed class ExchangeClock
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Marks> _marks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ClientTiming> _timed = new(StringComparer.Ordinal);
    private readonly HashSet<string> _missed = new(StringComparer.Ordinal);

    public void DownloadStarted(string clientId) => Mark(clientId, m =>
    {
        m.DownloadStarted = Stopwatch.GetTimestamp();
        m.Delivered = null;
    });

    public void Delivered(string clientId) => Mark(clientId, m => m.Delivered = Stopwatch.GetTimestamp());

    public void UploadStarted(string clientId) => Mark(clientId, m => m.UploadStarted = Stopwatch.GetTimestamp());

    /// <summary>The client's update arrived whole and was admitted; <paramref name="wire"/> is the update as received (before decoding).</summary>
    public void Received(ClientTask task, ClientUpdate wire)
    {
        var now = Stopwatch.GetTimestamp();
        var tokens = wire.Metrics.TryGetValue(SimulatedNetwork.TokensMetric, out var v) && double.IsFinite(v) && v > 0 ? (long)Math.Min(v, 1e15) : 0;
        var bytesUp = TransferCost.Of(wire.Adapter).Bytes;
        lock (_lock)
        {
            if (!_marks.TryGetValue(task.ClientId, out var m) || m is not { DownloadStarted: { } start, Delivered: { } delivered, UploadStarted: { } upload }) return;
            _timed[task.ClientId] = new ClientTiming(task.ClientId, task.LoraRank, TransferCost.Of(task).Bytes, bytesUp, tokens,
                Seconds(start, delivered), Seconds(delivered, Math.Max(delivered, upload)), Seconds(upload, now));
        }
    }

    /// <summary>The client was dropped because the round deadline passed before its update began.</summary>
    public void MissedDeadline(string clientId)
    {
        lock (_lock) _missed.Add(clientId);
    }

    /// <summary>The timings of the exchange as it closes now: every admitted reply, and the censored ones; ascending client order.</summary>
    public IReadOnlyList<ClientTiming> Close(IReadOnlyList<ClientTask> tasks)
    {
        var now = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            var timings = new List<ClientTiming>(_timed.Values);
            var made = _timed.Values.Where(t => t.Tokens > 0).ToList();
            if (made.Count > 0)
            {
                var tokens = (long)made.Average(t => t.Tokens);
                var ranked = made.Where(t => t.Rank > 0).ToList();
                foreach (var task in tasks.Where(t => _missed.Contains(t.ClientId) && !_timed.ContainsKey(t.ClientId)))
                {
                    if (!_marks.TryGetValue(task.ClientId, out var m) || m.DownloadStarted is not { } start) continue;
                    var bytesUp = task.LoraRank > 0 && ranked.Count > 0
                        ? (long)(ranked.Average(t => (double)t.BytesUp / t.Rank) * task.LoraRank)
                        : (long)made.Average(t => t.BytesUp);
                    var (download, compute) = m.Delivered is { } delivered ? (Seconds(start, delivered), Seconds(delivered, now)) : (Seconds(start, now), 0);
                    timings.Add(new ClientTiming(task.ClientId, task.LoraRank, TransferCost.Of(task).Bytes, bytesUp, tokens, download, compute, 0));
                }
            }
            return [.. timings.OrderBy(t => t.ClientId, StringComparer.Ordinal)];
        }
    }

    private void Mark(string clientId, Action<Marks> set)
    {
        lock (_lock)
        {
            if (!_marks.TryGetValue(clientId, out var m)) _marks[clientId] = m = new Marks();
            set(m);
        }
    }

    private static double Seconds(long from, long to) => Math.Max(0, Stopwatch.GetElapsedTime(from, to).TotalSeconds);

    /// <summary>Monotonic timestamps (<see cref="Stopwatch.GetTimestamp"/>) of one client's part; a repeated download keeps its latest.</summary>
    private sealed class Marks
    {
        public long? DownloadStarted { get; set; }

        public long? Delivered { get; set; }

        public long? UploadStarted { get; set; }
    }
}
