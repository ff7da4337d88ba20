using Confer.Data;
using Confer.Training;
using static TorchSharp.torch;

namespace Confer.Federation.Clients;

/// <summary>
/// A client's lifecycle, as in Shepherd's GeneralClient: it holds its local data, receives a task (global state and
/// instructions), builds its trainer, trains, and returns its update with metrics. It knows nothing about how it is
/// reached: the simulation calls it in-process, a deployed client process calls it for tasks that arrive over gRPC.
/// </summary>
public sealed class FederatedClient
{
    private readonly TrainerOptions _training;
    private readonly double _loraDropout;
    private readonly int _seed;

    /// <param name="id">Client id.</param>
    /// <param name="trainData">Tokenised local training examples (never leave the client).</param>
    /// <param name="training">Local optimiser settings; seed and FedProx/FFA fields are set per task.</param>
    /// <param name="loraDropout">LoRA dropout during local training.</param>
    /// <param name="seed">Run seed; each round's LoRA init and data order derive from (seed, round, client).</param>
    public FederatedClient(string id, IReadOnlyList<TokenizedExample> trainData, TrainerOptions training, double loraDropout, int seed)
    {
        if (trainData.Count == 0) throw new ArgumentException($"Client {id} has no training examples.", nameof(trainData));
        Id = id;
        TrainData = trainData;
        _training = training;
        _loraDropout = loraDropout;
        _seed = seed;
    }

    public string Id { get; }

    public IReadOnlyList<TokenizedExample> TrainData { get; }

    /// <summary>Runs one task on <paramref name="model"/> and returns the trained adapter. Takes ownership of the task's adapter.</summary>
    public ClientUpdate Fit(ClientTask task, ClientModel model, Action<TrainProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (task.ClientId != Id) throw new ArgumentException($"Task for client {task.ClientId} given to client {Id}.", nameof(task));
        var seed = SeedMix.Mix(_seed, task.Round, Id);
        using (task.Adapter)
        {
            model.SetBase(task.BaseDelta);
            using var generator = new Generator(seed);
            model.AttachAdapters(task.Adapter, task.LoraRank, task.LoraAlpha, _loraDropout, generator);
        }
        var options = _training with
        {
            Seed = (long)(seed >> 1),
            ProximalMu = task.ProximalMu,
            FrozenParameterNames = task.FreezeLoraA ? ["lora_A"] : [],
        };
        var result = new LocalTrainer(options).Train(model.Model, TrainData, progress, cancellationToken);
        var metrics = new Dictionary<string, double>
        {
            ["train_loss"] = result.MeanLoss,
            ["train_tokens"] = result.Tokens,
            ["train_seconds"] = result.Seconds,
        };
        return new ClientUpdate(Id, model.CaptureAdapter(), TrainData.Count, metrics);
    }
}
