using Confer.Federation.Rounds;

namespace Confer.Federation.Reporting;

/// <summary>A <c>"kind":"client_time"</c> line of metrics.jsonl: one client's timed part of a round (<see cref="ClientTiming"/>).</summary>
internal sealed record ClientTimeEntry(int Round, string Client, int Rank, long BytesDown, long BytesUp, long Tokens, double DownloadS, double ComputeS, double UploadS)
{
    public const string Kind = "client_time";

    public ClientTiming ToTiming() => new(Client, Rank, BytesDown, BytesUp, Tokens, DownloadS, ComputeS, UploadS);

    public static ClientTimeEntry From(int round, ClientTiming t) =>
        new(round, t.ClientId, t.Rank, t.BytesDown, t.BytesUp, t.Tokens, t.DownloadSeconds, t.ComputeSeconds, t.UploadSeconds);
}
