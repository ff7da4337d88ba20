using Confer.Data;
using Confer.Federation.Rounds;
using Confer.Models;
using Confer.Peft;
using Confer.Training;
using static TorchSharp.torch;

namespace Confer.Federation.Clients;

/// <summary>
/// A client's lifecycle, as in Shepherd's GeneralClient: it holds its local data, receives a task (global state and
/// instructions), builds its trainer, trains — or evaluates — and returns its update with metrics. It knows nothing
/// about how it is reached: <see cref="ClientRunner"/> runs it in-process in a simulation and in a deployed client
/// process alike.
/// </summary>
public sealed class FederatedClient : IClientTrainer
{
    private readonly TrainerOptions _training;
    private readonly double _loraDropout;
    private readonly int _seed;
    private readonly int _evalBatchSize;

    /// <param name="data">Tokenised local training examples and local test split (they never leave the client).</param>
    /// <param name="training">Local optimiser settings; seed and FedProx/FFA/step fields are set per task.</param>
    /// <param name="loraDropout">LoRA dropout during local training.</param>
    /// <param name="seed">Run seed; each round's LoRA init and data order derive from (seed, round, client).</param>
    /// <param name="evalBatchSize">Batch size when evaluating on the local test split.</param>
    public FederatedClient(Simulation.ClientData data, TrainerOptions training, double loraDropout, int seed, int evalBatchSize)
    {
        if (data.Train.Count == 0) throw new ArgumentException($"Client {data.Id} has no training examples.", nameof(data));
        Id = data.Id;
        TrainData = data.Train;
        LocalTest = data.LocalTest;
        _training = training;
        _loraDropout = loraDropout;
        _seed = seed;
        _evalBatchSize = evalBatchSize;
    }

    public string Id { get; }

    public IReadOnlyList<TokenizedExample> TrainData { get; }

    public IReadOnlyList<TokenizedExample> LocalTest { get; }

    /// <summary>Optimiser steps <paramref name="task"/> will take (for progress bars).</summary>
    public int PlannedSteps(ClientTask task) => new LocalTrainer(TrainerOptionsFor(task, 0)).TotalSteps(TrainData.Count);

    /// <summary>Runs one training task on <paramref name="model"/> and returns the trained adapter. The task's tensors stay with the caller.</summary>
    public ClientUpdate Fit(ClientTask task, ClientModel model, Action<TrainProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        CheckAddressee(task);
        var seed = SeedMix.Mix(_seed, task.Round, Id);
        model.SetBase(task.BaseDelta);
        using (var generator = new Generator(seed))
            model.AttachAdapters(task.Adapter, task.LoraRank, task.LoraAlpha, _loraDropout, generator);
        var result = new LocalTrainer(TrainerOptionsFor(task, seed)).Train(model.CausalLM, TrainData, progress, cancellationToken);
        var metrics = new Dictionary<string, double>
        {
            [MetricNames.TrainLoss] = result.MeanLoss,
            ["train_tokens"] = result.Tokens,
            ["train_steps"] = result.Steps,
            ["train_seconds"] = result.Seconds,
        };
        var adapter = model.CaptureAdapter();
        // A frozen lora_A is the server's own tensor: sending it back would only cost uplink.
        if (task.FreezeLoraA)
            foreach (var name in adapter.Names.Where(LoraKeys.IsA).ToList()) adapter.Remove(name);
        return new ClientUpdate(Id, adapter, TrainData.Count, metrics);
    }

    /// <summary>
    /// Evaluates the task's global model on the local test split: the loss and the number of examples, no tensors. A
    /// client without a local test split reports 0 examples.
    /// </summary>
    public ClientUpdate Evaluate(ClientTask task, ClientModel model)
    {
        CheckAddressee(task);
        if (LocalTest.Count == 0) return new ClientUpdate(Id, new NamedTensors(), 0, new Dictionary<string, double>());
        model.SetBase(task.BaseDelta);
        using (var generator = new Generator(0))
            model.AttachAdapters(task.Adapter, task.LoraRank, task.LoraAlpha, 0, generator);
        var report = Evaluator.EvaluateLoss(model.CausalLM, LocalTest, _evalBatchSize, _training.PadTokenId);
        return new ClientUpdate(Id, new NamedTensors(), report.Examples, new Dictionary<string, double> { [MetricNames.LocalLoss] = report.MeanLoss });
    }

    private TrainerOptions TrainerOptionsFor(ClientTask task, ulong seed)
    {
        var options = _training with
        {
            Seed = (long)(seed >> 1),
            ProximalMu = task.ProximalMu,
            FrozenParameterNames = task.FreezeLoraA ? ["lora_A"] : [],
        };
        return task.Config.GetDouble(TaskConfig.LocalSteps) is { } steps ? options with { MaxSteps = checked((int)steps) } : options;
    }

    private void CheckAddressee(ClientTask task)
    {
        if (task.ClientId != Id) throw new ArgumentException($"Task for client {task.ClientId} given to client {Id}.", nameof(task));
    }
}
