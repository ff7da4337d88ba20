using Confer.Compression;
using Confer.Federation.Simulation;

namespace Confer.Federation.Messages;

/// <summary>
/// The message stages a run's settings call for, in sending order. The server and every client build the same list
/// from the same settings (a deployed client gets them at join), so both halves of each stage always match. Later
/// stages — client-side DP before the codecs, secure-aggregation masking after — are one line here each.
/// </summary>
public static class MessageStages
{
    public static MessagePipeline For(SimulationSettings s) =>
        new([new CodecStage(CodecRegistry.Create(s.UplinkCodec, "uplink_codec"), CodecRegistry.Create(s.DownlinkCodec, "downlink_codec"), s.Seed)]);
}
