using Confer.Federation.Strategies;
using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Federation;

/// <summary>
/// Server-side federated policy in Flower's shape: <see cref="ConfigureTrain"/> turns the global state into one
/// <see cref="ClientTask"/> per selected client, <see cref="AggregateTrain"/> folds the returned updates back into it.
/// The global state is <see cref="GlobalAdapter"/> (the model's adapter, applied with <see cref="GlobalLoraScale"/>) plus
/// <see cref="MergedDelta"/> (dense ΔW already merged into the base, FLoRA), so the current global model is
/// base + MergedDelta + GlobalLoraScale·B·A per module. Updates are aggregated in ascending ordinal client-id order with
/// p_k = n_k / Σ n over the updates received (capped at <see cref="FederationSettings.MaxClientWeight"/>), in fp32 on the CPU, deterministically. Create one through
/// <see cref="Strategies.StrategyRegistry"/>, then <see cref="Initialize"/> it once.
/// <para>
/// A new strategy is a subclass: <see cref="BuildTask"/> says what each client starts from, <see cref="Aggregate"/>
/// changes the global state from validated <see cref="ClientContribution"/>s, and the other protected members are
/// optional hooks; register it with <see cref="Strategies.StrategyRegistry.Register"/> to select it by name. Both
/// hooks run under <c>no_grad</c> inside a dispose scope: temporaries need no disposing, and tensors handed to
/// <see cref="NamedTensors.Replace"/> or <see cref="NamedTensors.Add"/> of the global state are kept.
/// </para>
/// </summary>
public abstract class Strategy : IDisposable
{
    private const string GlobalPrefix = "global/";
    private const string MergedPrefix = "merged/";

    private readonly Dictionary<string, int> _issuedRanks = new(StringComparer.Ordinal);
    private FederationSettings? _settings;
    private ClientRankPlan? _ranks;
    private UpdateValidator? _validator;
    private int _configuredRound;

    /// <summary>The registry name, e.g. <c>fedavg</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The current global adapter (PEFT keys plus other trainable tensors); read-only for callers.</summary>
    public NamedTensors GlobalAdapter { get; private set; } = new();

    /// <summary>Cumulative dense ΔW merged into the base since the pretrained model (<c>LoraKeys.DenseWeight</c> keys); read-only for callers.</summary>
    public NamedTensors MergedDelta { get; private set; } = new();

    /// <summary>The LoRA scale of <see cref="GlobalAdapter"/>: ΔW = GlobalLoraScale · B · A (PEFT alpha = scale · rank).</summary>
    public double GlobalLoraScale => Ranks.Scale;

    /// <summary>The settings given to <see cref="Initialize"/>.</summary>
    protected FederationSettings Settings => _settings ?? throw NotInitialised();

    /// <summary>Which client trains at which rank, and the shared LoRA scale.</summary>
    protected ClientRankPlan Ranks => _ranks ?? throw NotInitialised();

    /// <summary>The LoRA modules of the initial adapter, in its order.</summary>
    protected IReadOnlyList<LoraModule> Modules { get; private set; } = [];

    /// <summary>The initial adapter's trainable tensors that are not LoRA pairs (e.g. a classification head).</summary>
    protected IReadOnlyList<string> ExtraKeys { get; private set; } = [];

    /// <summary>
    /// True for a strategy whose math is about LoRA pairs (stacking, truncation, frozen A): it refuses an adapter
    /// without them (<c>peft_method: prompt</c> or <c>adapter</c>), which the averaging strategies federate as they are.
    /// </summary>
    protected virtual bool FederatesLoraPairs => false;

    /// <summary>True when <see cref="FederationSettings.ProximalMu"/> is this strategy's to use.</summary>
    protected virtual bool UsesProximalMu => false;

    /// <summary>Names of the <see cref="FederationSettings"/> server-optimiser fields this strategy reads.</summary>
    protected virtual IReadOnlyCollection<string> ServerOptions => [];

    /// <summary>
    /// Sets the starting global state. The strategy copies <paramref name="initialAdapter"/> (the caller keeps it); its
    /// LoRA rank must suit the strategy (the clients' rank for the FedAvg family, the largest client rank for
    /// hetlora/ffa-lora; any rank for flexlora; flora only reads its module shapes).
    /// </summary>
    public void Initialize(NamedTensors initialAdapter, FederationSettings settings)
    {
        ArgumentNullException.ThrowIfNull(initialAdapter);
        ArgumentNullException.ThrowIfNull(settings);
        if (_settings is not null) throw new InvalidOperationException($"Strategy '{Name}' is already initialised.");
        settings.Validate();
        RejectUnusedOptions(settings);
        var (modules, extras, rank) = LoraModule.Discover(initialAdapter);
        if (FederatesLoraPairs && modules.Count == 0)
            throw new ArgumentException($"'{Name}' works on LoRA pairs, but the initial adapter has no lora_A/lora_B tensors (peft_method prompt or adapter); " +
                                        "use fedavg, fedprox, fedavgm, fedadagrad, fedadam or fedyogi, which average every trainable tensor with p_k.");
        _settings = settings;
        _ranks = new ClientRankPlan(settings);
        Modules = modules;
        ExtraKeys = extras;
        _validator = new UpdateValidator(modules, extras.ToDictionary(key => key, key => initialAdapter[key].shape, StringComparer.Ordinal));
        OnInitialize(initialAdapter, rank);
    }

    /// <summary>
    /// One task per selected client, in ascending ordinal client-id order, each at the client's rank from the plan
    /// (<c>client_ranks</c>) or, for a client in <paramref name="assignedRanks"/>, at the rank a scheduler chose for
    /// it (1 … the largest planned rank; the FedAvg family, which needs one rank, refuses a different one).
    /// </summary>
    public IReadOnlyList<ClientTask> ConfigureTrain(int round, IReadOnlyList<string> selectedClientIds, IReadOnlyDictionary<string, int>? assignedRanks = null)
    {
        EnsureInitialised();
        if (round < 1) throw new ArgumentOutOfRangeException(nameof(round), round, "Rounds are numbered from 1.");
        var ids = selectedClientIds.OrderBy(id => id, StringComparer.Ordinal).ToList();
        if (ids.Distinct(StringComparer.Ordinal).Count() != ids.Count)
            throw new ArgumentException("selectedClientIds lists a client more than once.", nameof(selectedClientIds));
        var ranks = ids.Select(id => assignedRanks is not null && assignedRanks.TryGetValue(id, out var r) ? r : Ranks.RankOf(id)).ToList();
        for (var i = 0; i < ids.Count; i++)
        {
            if (ranks[i] < 1 || ranks[i] > Ranks.MaxRank)
                throw new ArgumentException($"Client '{ids[i]}' was assigned rank {ranks[i]}; ranks must be between 1 and {Ranks.MaxRank} (the largest of client_ranks).", nameof(assignedRanks));
            if (Ranks.IsUniform && ranks[i] != Ranks.RankOf(ids[i]))
                throw new ArgumentException($"Strategy '{Name}' trains every client at rank {Ranks.RankOf(ids[i])}; it cannot take rank {ranks[i]} for '{ids[i]}'.", nameof(assignedRanks));
        }
        _issuedRanks.Clear();
        _configuredRound = round;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var tasks = new List<ClientTask>(ids.Count);
        for (var i = 0; i < ids.Count; i++)
        {
            tasks.Add(BuildTask(round, ids[i], ranks[i]));
            _issuedRanks[ids[i]] = ranks[i];
        }
        return tasks;
    }

    /// <summary>
    /// Folds the updates that arrived into the global state. Every update is validated before anything changes, so
    /// on <see cref="InvalidClientUpdateException"/> the caller can drop that client and call again. No updates at all
    /// leaves the state unchanged.
    /// </summary>
    public RoundSummary AggregateTrain(int round, IReadOnlyList<ClientUpdate> updates)
    {
        if (round != _configuredRound)
            throw new InvalidOperationException($"AggregateTrain(round {round}) needs a preceding ConfigureTrain({round}) and runs once per round.");
        var ordered = updates.OrderBy(u => u.ClientId, StringComparer.Ordinal).ToList();
        for (var i = 1; i < ordered.Count; i++)
            if (ordered[i].ClientId == ordered[i - 1].ClientId)
                throw new InvalidClientUpdateException(ordered[i].ClientId, "two updates arrived for this client.");
        foreach (var u in ordered) RequireIssued(u);
        var weights = ClientWeights.Of(ordered.Select(u => u.NumExamples).ToList(), Settings.MaxClientWeight);
        var contributions = ordered
            .Select((u, k) => new ClientContribution(u.ClientId, u.Adapter, weights[k], _issuedRanks[u.ClientId], Ranks.Scale))
            .ToList();

        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        using (no_grad())
        using (NewDisposeScope())
        {
            foreach (var c in contributions) ValidateUpdate(c);
            if (contributions.Count > 0)
                foreach (var (key, value) in Aggregate(round, contributions)) metrics[key] = value;
        }
        foreach (var (key, value) in ClientMetricMeans(ordered, contributions)) metrics.TryAdd(key, value);
        _configuredRound = 0;
        return new RoundSummary(
            round,
            contributions.Select(c => c.ClientId).ToList(),
            contributions.ToDictionary(c => c.ClientId, c => c.Weight, StringComparer.Ordinal),
            ordered.Sum(u => u.NumExamples),
            metrics);
    }

    /// <summary>The LoRA rank this strategy trains <paramref name="clientId"/> at.</summary>
    internal int RankOf(string clientId)
    {
        EnsureInitialised();
        return Ranks.RankOf(clientId);
    }

    /// <summary>
    /// Checks one update against the task issued to its client this round — keys, shapes, dtype, finite values — and
    /// changes nothing, so a server can refuse a bad update the moment it arrives (<see cref="AggregateTrain"/> checks
    /// again). Throws <see cref="InvalidClientUpdateException"/> naming the client and the tensor.
    /// </summary>
    public void CheckUpdate(ClientUpdate update)
    {
        RequireIssued(update);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        ValidateUpdate(new ClientContribution(update.ClientId, update.Adapter, 1.0, _issuedRanks[update.ClientId], Ranks.Scale));
    }

    private void RequireIssued(ClientUpdate u)
    {
        if (!_issuedRanks.ContainsKey(u.ClientId))
            throw new InvalidClientUpdateException(u.ClientId, $"no task was issued to it in round {_configuredRound}.");
        if (u.NumExamples is < 1 or > ClientWeights.MaxExamples)
            throw new InvalidClientUpdateException(u.ClientId, $"NumExamples is {u.NumExamples}; it must be between 1 and {ClientWeights.MaxExamples}.");
    }

    /// <summary>
    /// The complete server state — global adapter, merged delta, optimiser moments, per-client bookkeeping — so that
    /// <see cref="ImportState"/> on a freshly initialised strategy resumes exactly. Call it between rounds. The caller owns the result.
    /// </summary>
    public NamedTensors ExportState()
    {
        EnsureInitialised();
        var state = new NamedTensors();
        using var scope = NewDisposeScope();
        foreach (var (name, t) in GlobalAdapter) state.Add(GlobalPrefix + name, t.clone());
        foreach (var (name, t) in MergedDelta) state.Add(MergedPrefix + name, t.clone());
        ExportExtraState(state);
        return state;
    }

    /// <summary>Restores what <see cref="ExportState"/> wrote, after <see cref="Initialize"/> with the same settings. The caller keeps <paramref name="state"/>.</summary>
    public void ImportState(NamedTensors state)
    {
        EnsureInitialised();
        var global = new NamedTensors();
        var merged = new NamedTensors();
        var extra = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var scope = NewDisposeScope();
        foreach (var (name, t) in state)
        {
            if (name.StartsWith(GlobalPrefix, StringComparison.Ordinal)) global.Add(name[GlobalPrefix.Length..], t.to(ScalarType.Float32).clone());
            else if (name.StartsWith(MergedPrefix, StringComparison.Ordinal)) merged.Add(name[MergedPrefix.Length..], t.to(ScalarType.Float32).clone());
            else extra[name] = t;
        }
        var missing = GlobalAdapter.Names.Except(global.Names).ToList();
        var unexpected = global.Names.Except(GlobalAdapter.Names).ToList();
        if (missing.Count + unexpected.Count > 0)
            throw new ArgumentException(
                $"State for strategy '{Name}' does not match its global adapter: missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", unexpected)}]. Was it exported by another strategy or model?");
        ImportExtraState(extra);
        if (extra.Count > 0)
            throw new ArgumentException($"State has keys strategy '{Name}' does not know: {string.Join(", ", extra.Keys.Take(5))}. Was it exported by another strategy?");
        var reordered = new NamedTensors();
        foreach (var name in GlobalAdapter.Names) reordered.Add(name, global[name].alias());
        global.Dispose();
        GlobalAdapter.Dispose();
        GlobalAdapter = reordered;
        MergedDelta.Dispose();
        MergedDelta = merged;
    }

    /// <summary>Replaces the global adapter (used once at initialisation).</summary>
    protected void SetGlobalAdapter(NamedTensors adapter)
    {
        GlobalAdapter.Dispose();
        GlobalAdapter = adapter;
    }

    /// <summary>Checks the initial adapter's rank and sets the starting global adapter (default: an fp32 copy).</summary>
    protected virtual void OnInitialize(NamedTensors initialAdapter, int? initialRank) =>
        SetGlobalAdapter(initialAdapter.Clone(dtype: ScalarType.Float32));

    /// <summary>The task for one selected client at its <paramref name="rank"/>; the client owns the task's adapter.</summary>
    protected abstract ClientTask BuildTask(int round, string clientId, int rank);

    /// <summary>Changes the global state from validated contributions (ascending client id); returns strategy metrics.</summary>
    protected abstract IReadOnlyDictionary<string, double> Aggregate(int round, IReadOnlyList<ClientContribution> contributions);

    /// <summary>Whether an update may leave out its frozen <c>lora_A</c> tensors.</summary>
    protected virtual bool LoraAMayBeOmitted => false;

    /// <summary>Adds strategy-specific state (optimiser moments, bookkeeping) to an export, under keys of its own.</summary>
    protected virtual void ExportExtraState(NamedTensors into) { }

    /// <summary>Restores strategy-specific state, removing every key it consumed from <paramref name="state"/>.</summary>
    protected virtual void ImportExtraState(Dictionary<string, Tensor> state) { }

    /// <summary>Checks keys, shapes and finiteness of one update against the rank its task asked for; throws <see cref="InvalidClientUpdateException"/>.</summary>
    protected virtual void ValidateUpdate(ClientContribution c) => _validator!.Validate(c, LoraAMayBeOmitted);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (!disposing) return;
        GlobalAdapter.Dispose();
        MergedDelta.Dispose();
    }

    private static Dictionary<string, double> ClientMetricMeans(List<ClientUpdate> ordered, List<ClientContribution> contributions)
    {
        var means = new Dictionary<string, double>(StringComparer.Ordinal);
        if (ordered.Count == 0) return means;
        foreach (var key in ordered[0].Metrics.Keys.Where(k => ordered.All(u => u.Metrics.ContainsKey(k))))
            means[key] = ordered.Select((u, i) => contributions[i].Weight * u.Metrics[key]).Sum();
        return means;
    }

    private void RejectUnusedOptions(FederationSettings s)
    {
        if (s.ProximalMu is > 0 && !UsesProximalMu)
            throw new ArgumentException($"Strategy '{Name}' does not use ProximalMu; remove it or use 'fedprox'.");
        (string Name, double? Value)[] options =
        [
            (nameof(s.ServerLearningRate), s.ServerLearningRate), (nameof(s.ServerMomentum), s.ServerMomentum),
            (nameof(s.ServerBeta1), s.ServerBeta1), (nameof(s.ServerBeta2), s.ServerBeta2), (nameof(s.ServerTau), s.ServerTau),
        ];
        foreach (var (name, value) in options)
            if (value is not null && !ServerOptions.Contains(name))
                throw new ArgumentException($"Strategy '{Name}' does not use {name}; remove it from the settings.");
    }

    private void EnsureInitialised()
    {
        if (_settings is null) throw NotInitialised();
    }

    private InvalidOperationException NotInitialised() => new($"Call Initialize on strategy '{Name}' first.");
}
