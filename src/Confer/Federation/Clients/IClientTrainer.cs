using Confer.Training;

namespace Confer.Federation.Clients;

/// <summary>
/// What a client does with a task, whatever it trains: <see cref="FederatedClient"/> fine-tunes a causal LM on
/// instruction data; another kind of client (a discriminator, a classifier) implements this and runs on the same round
/// driver, reached through the same <see cref="ClientRunner"/> in-process or over gRPC.
/// </summary>
public interface IClientTrainer
{
    /// <summary>The client's id (its data never leaves it).</summary>
    string Id { get; }

    /// <summary>Optimiser steps <paramref name="task"/> will take, for progress bars.</summary>
    int PlannedSteps(ClientTask task);

    /// <summary>Runs a training task on <paramref name="model"/> and returns the update. The task's tensors stay with the caller.</summary>
    ClientUpdate Fit(ClientTask task, ClientModel model, Action<TrainProgress>? progress, CancellationToken cancellationToken);

    /// <summary>Evaluates the task's global state on local data: metrics and an example count, no tensors.</summary>
    ClientUpdate Evaluate(ClientTask task, ClientModel model);
}
