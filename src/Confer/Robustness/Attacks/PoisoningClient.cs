using Confer.Data;
using Confer.Federation;
using Confer.Federation.Clients;
using Confer.Federation.Simulation;
using Confer.Training;

namespace Confer.Robustness.Attacks;

/// <summary>
/// The data-poisoning attacker (seed 001's "malicious clients injecting harmful instructions"): an ordinary
/// <see cref="FederatedClient"/> that trains on harmful instruction/response pairs instead of its own data and claims
/// <paramref name="claimedExamples"/> training examples — the most the server accepts — so its update weighs as much
/// as it can. It evaluates on its own local test split like an honest client, so nothing else gives it away.
/// </summary>
public sealed class PoisoningClient(FederatedClient inner, long claimedExamples) : IClientTrainer
{
    public string Id => inner.Id;

    public int PlannedSteps(ClientTask task) => inner.PlannedSteps(task);

    public ClientUpdate Fit(ClientTask task, ClientModel model, Action<TrainProgress>? progress, CancellationToken cancellationToken) =>
        inner.Fit(task, model, progress, cancellationToken) with { NumExamples = claimedExamples };

    public ClientUpdate Evaluate(ClientTask task, ClientModel model) => inner.Evaluate(task, model);

    /// <summary>The attacker's data: the poison set's examples for training, its own local test split kept.</summary>
    public static ClientData Data(ClientData own, IReadOnlyList<TokenizedExample> poison) => own with { Train = poison };
}
