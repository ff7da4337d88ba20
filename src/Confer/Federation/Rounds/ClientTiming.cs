namespace Confer.Federation.Rounds;

/// <summary>
/// How long one client's part of a round took: receiving its task, training, sending its update. A simulation's
/// network model (<c>client_devices</c>) writes these in simulated seconds; they are the "measured history" a
/// resource-aware scheduler predicts from, so the run's record keeps them.
/// </summary>
/// <param name="ClientId">The client.</param>
/// <param name="Rank">The LoRA rank its task asked for (what its upload scales with).</param>
/// <param name="BytesDown">Its task's bytes as sent (after codecs): what the download moved.</param>
/// <param name="BytesUp">Its update's bytes as sent (after codecs): what the upload moved, counted even when the update came too late.</param>
/// <param name="Tokens">Tokens it trained on (its compute work).</param>
/// <param name="DownloadSeconds">Task transfer: round trip + bytes down / downlink.</param>
/// <param name="ComputeSeconds">Local training.</param>
/// <param name="UploadSeconds">Update transfer: round trip + bytes up / uplink.</param>
public sealed record ClientTiming(string ClientId, int Rank, long BytesDown, long BytesUp, long Tokens, double DownloadSeconds, double ComputeSeconds, double UploadSeconds)
{
    /// <summary>Download + compute + upload.</summary>
    public double Seconds => DownloadSeconds + ComputeSeconds + UploadSeconds;
}
