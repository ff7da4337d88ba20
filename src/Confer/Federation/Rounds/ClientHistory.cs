using Confer.Federation.Scheduling;

namespace Confer.Federation.Rounds;

/// <summary>
/// Each client's timed rounds as the committed record holds them (<see cref="RoundRecord.Timings"/>), for
/// <see cref="ClientProfile.History"/>. Built from the store when a run starts or resumes and
/// extended at each commit, so a resumed run's scheduler sees exactly what the uninterrupted run's saw.
/// </summary>
internal sealed class ClientHistory
{
    private readonly Dictionary<string, List<ClientObservation>> _byClient = new(StringComparer.Ordinal);

    public ClientHistory(IEnumerable<RoundRecord> committed)
    {
        foreach (var record in committed.OrderBy(r => r.Round)) Add(record);
    }

    public void Add(RoundRecord record)
    {
        foreach (var t in record.Timings)
        {
            if (!_byClient.TryGetValue(t.ClientId, out var list)) _byClient[t.ClientId] = list = [];
            list.Add(new ClientObservation(record.Round, t.Rank, t.BytesDown, t.BytesUp, t.Tokens, t.DownloadSeconds, t.ComputeSeconds, t.UploadSeconds));
        }
    }

    /// <summary>The client's observations, oldest first.</summary>
    public IReadOnlyList<ClientObservation> Of(string clientId) => _byClient.TryGetValue(clientId, out var list) ? [.. list] : [];
}
