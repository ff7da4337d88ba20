using Confer.Compression;
using Confer.Federation.Clients;
using Confer.Federation.Simulation;
using Confer.Privacy.DifferentialPrivacy;
using Confer.Robustness.Attacks;

namespace Confer.Federation.Messages;

/// <summary>
/// The message stages a run's settings call for, in sending order. The server and every client build the same list
/// from the same settings (a deployed client gets them at join), so both halves of each stage always match:
/// DP clipping first (it must see the update before any codec), then a simulated attacker's tampering (after its
/// own clipping, which a malicious client would skip), then the codecs. Secure aggregation's masking is not a stage:
/// it needs several exchanges, so it is a training protocol (<see cref="Rounds.TrainingProtocols"/>) that masks what
/// these stages produced.
/// </summary>
public static class MessageStages
{
    /// <param name="s">The run's settings.</param>
    /// <param name="clientState">Where the clients of this process keep state between rounds (error feedback); null on a server.</param>
    /// <param name="noise">Where client-side DP noise comes from (a deployed client's is secret).</param>
    /// <param name="attack">The simulated attackers, if any (simulation only).</param>
    public static MessagePipeline For(SimulationSettings s, IClientStateStore? clientState = null, ClientNoise noise = ClientNoise.FromRunSeed, AttackPlan? attack = null)
    {
        var stages = new List<MessageHook>();
        if (s.DpClipNorm > 0) stages.Add(new DpClipStage(s.Seed, noise));
        if (attack is { Kind: not AttackKind.None and not AttackKind.Poison }) stages.Add(new UpdateAttackStage(attack, s.Seed));
        stages.Add(new CodecStage(s.Codecs(), s.Seed, clientState));
        return new MessagePipeline(stages);
    }
}
