using Confer.Compression;
using Confer.Federation.Clients;
using Confer.Federation.Simulation;

namespace Confer.Federation.Messages;

/// <summary>
/// The message stages a run's settings call for, in sending order. The server and every client build the same list
/// from the same settings (a deployed client gets them at join), so both halves of each stage always match. Later
/// stages — client-side DP before the codecs, secure-aggregation masking after — are one line here each.
/// </summary>
public static class MessageStages
{
    /// <param name="s">The run's settings.</param>
    /// <param name="clientState">Where the clients of this process keep state between rounds (error feedback); null on a server.</param>
    public static MessagePipeline For(SimulationSettings s, IClientStateStore? clientState = null) =>
        new([new CodecStage(s.Codecs(), s.Seed, clientState)]);
}
