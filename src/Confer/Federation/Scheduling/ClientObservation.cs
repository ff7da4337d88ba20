namespace Confer.Federation.Scheduling;

/// <summary>One earlier round of a client as the run's record holds it: what it moved and trained, and how long each part took.</summary>
/// <param name="Round">The round.</param>
/// <param name="Rank">The LoRA rank its task asked for.</param>
/// <param name="BytesDown">Task bytes as sent (after codecs).</param>
/// <param name="BytesUp">Update bytes as received (after codecs).</param>
/// <param name="Tokens">Tokens it trained on.</param>
/// <param name="DownloadSeconds">Task transfer time.</param>
/// <param name="ComputeSeconds">Local training time.</param>
/// <param name="UploadSeconds">Update transfer time.</param>
public sealed record ClientObservation(int Round, int Rank, long BytesDown, long BytesUp, long Tokens, double DownloadSeconds, double ComputeSeconds, double UploadSeconds)
{
    public double Seconds => DownloadSeconds + ComputeSeconds + UploadSeconds;
}
