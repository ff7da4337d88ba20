using Confer.Federation.Clients;
using Confer.Federation.Simulation;

namespace Confer.Federation.Deployment;

/// <summary>
/// What a deployed client trains, on its own data: <see cref="DeployedClient"/> joins, then asks its site for the
/// trainer and model that the server's run config calls for. Instruction tuning (<see cref="InstructionTuningSite"/>,
/// <c>confer client</c>) is one kind; FedCoT's discriminator site (<c>confer fedcot client</c>) is another. Joining,
/// polling, heartbeats, message stages and pushing are the same for every kind.
/// </summary>
public interface IClientSite
{
    /// <summary>The <see cref="DeployedRun.Kind"/> this site can join.</summary>
    string RunKind { get; }

    /// <summary>Builds this site's part of the run from the config the server sent at join.</summary>
    /// <param name="clientId">The id the server knows this client by (its token's).</param>
    /// <param name="runConfigYaml">The run config from the join reply.</param>
    /// <param name="settings">This client's keys (data, model, device, compute budget …).</param>
    /// <param name="log">Where a long preparation (e.g. generating candidates) reports progress.</param>
    /// <param name="ct">Stops a long preparation.</param>
    PreparedSite Prepare(string clientId, string runConfigYaml, ClientSettings settings, Action<string> log, CancellationToken ct);
}

/// <summary>A site ready to run tasks.</summary>
/// <param name="Driver">The round engine's settings of the run (codecs, privacy, seed), from which the client builds its message stages.</param>
/// <param name="Trainer">Trains and evaluates on the site's data.</param>
/// <param name="Model">The model the trainer works on; the session owns and disposes it.</param>
/// <param name="TrainingExamples">The site's training examples, for the log.</param>
public sealed record PreparedSite(SimulationSettings Driver, IClientTrainer Trainer, ClientModel Model, int TrainingExamples);
