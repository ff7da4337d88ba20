using Confer.Federation;
using Confer.Federation.Clients;
using Confer.Federation.Rounds;
using Confer.Models;
using Confer.Models.Bert;
using Confer.Training;
using static TorchSharp.torch;

namespace Confer.Reasoning.Discriminator;

/// <summary>
/// FedCoT's client (stages 2 and 4 of the paper): it trains the discriminator on its own labelled candidates — a fresh
/// LoRA at its own rank on base + merged ΔW, plus the head — and returns only the LoRA pair and the head; evaluation
/// selects the best of K on its own test questions. It runs on the same round driver as instruction tuning, reached
/// through <see cref="ClientRunner"/>; its candidates never leave it.
/// </summary>
public sealed class DiscriminatorClient : IClientTrainer
{
    private readonly DiscriminatorData _data;
    private readonly TrainerOptions _training;
    private readonly double _posWeight;
    private readonly int _seed;
    private readonly int _evalBatchSize;
    private readonly long _padId;

    /// <param name="data">The client's encoded candidates.</param>
    /// <param name="training">Local optimiser settings; the seed and (from the task) step count are set per task.</param>
    /// <param name="posWeight">BCE positive weight (1 = plain).</param>
    /// <param name="seed">Run seed; each round's LoRA init and data order derive from (seed, round, client).</param>
    /// <param name="evalBatchSize">Batch size when scoring.</param>
    /// <param name="padId">The encoder's pad id.</param>
    public DiscriminatorClient(DiscriminatorData data, TrainerOptions training, double posWeight, int seed, int evalBatchSize, long padId)
    {
        if (data.Train.Count == 0) throw new ArgumentException($"Client {data.Id} has no training candidates.", nameof(data));
        _data = data;
        _training = training;
        _posWeight = posWeight;
        _seed = seed;
        _evalBatchSize = evalBatchSize;
        _padId = padId;
    }

    public string Id => _data.Id;

    public int PlannedSteps(ClientTask task) => Trainer(task, 0).TotalSteps(_data.Train.Count);

    /// <summary>Trains a fresh LoRA (rank r_k) and the head from the task's state; returns them with n_k = the number of training candidates.</summary>
    public ClientUpdate Fit(ClientTask task, ClientModel model, Action<TrainProgress>? progress, CancellationToken cancellationToken)
    {
        CheckAddressee(task);
        var seed = SeedMix.Mix(_seed, task.Round, Id);
        model.SetBase(task.BaseDelta);
        using (var generator = new Generator(seed))
            model.AttachAdapters(task.Adapter, task.LoraRank, task.LoraAlpha, 0, generator);
        var result = Trainer(task, seed).Train(Classifier(model), _data.Train, progress, cancellationToken);
        var metrics = new Dictionary<string, double>
        {
            [MetricNames.TrainLoss] = result.MeanLoss,
            ["train_steps"] = result.Steps,
            ["train_seconds"] = result.Seconds,
        };
        return new ClientUpdate(Id, model.CaptureAdapter(), _data.Train.Count, metrics);
    }

    /// <summary>
    /// Scores the local test candidates with the task's discriminator: <c>local_loss</c> = mean BCE per candidate (the
    /// example count is the number of candidates) and <c>accuracy</c> = share of test questions whose best-scored
    /// candidate is correct. No tensors travel back.
    /// </summary>
    public ClientUpdate Evaluate(ClientTask task, ClientModel model)
    {
        CheckAddressee(task);
        if (_data.Test.Count == 0) return new ClientUpdate(Id, new NamedTensors(), 0, new Dictionary<string, double>());
        model.SetBase(task.BaseDelta);
        using (var generator = new Generator(0))
            model.AttachAdapters(task.Adapter, task.LoraRank, task.LoraAlpha, 0, generator);
        var report = DiscriminatorReport.Of(Classifier(model), _data.Test, _evalBatchSize, _padId);
        return new ClientUpdate(Id, new NamedTensors(), report.Candidates,
            new Dictionary<string, double> { [MetricNames.LocalLoss] = report.MeanBce, [MetricNames.Accuracy] = report.Accuracy });
    }

    /// <summary>The encoder inside a client model, or a clear error when the run gave this client a causal LM.</summary>
    internal static BertForSequenceClassification Classifier(ClientModel model) =>
        model.Model as BertForSequenceClassification
        ?? throw new InvalidOperationException($"The discriminator client needs an encoder with a classification head, not a {model.Model.GetType().Name}.");

    private DiscriminatorTrainer Trainer(ClientTask task, ulong seed)
    {
        var options = _training with { Seed = (long)(seed >> 1) };
        if (task.Config.GetDouble(TaskConfig.LocalSteps) is { } steps) options = options with { MaxSteps = checked((int)steps) };
        return new DiscriminatorTrainer(options, _posWeight, _padId);
    }

    private void CheckAddressee(ClientTask task)
    {
        if (task.ClientId != Id) throw new ArgumentException($"Task for client {task.ClientId} given to client {Id}.", nameof(task));
    }
}
