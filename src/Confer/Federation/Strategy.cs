using Confer.Federation.Strategies;
using Confer.Federation.Updates;
using Confer.Models;
using Confer.Peft;
using Confer.Privacy.DifferentialPrivacy;
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
/// <para>
/// Privacy and robustness: a strategy whose aggregate is its start plus the mean of one vector per client declares
/// that vector's <see cref="UpdateForm"/>; then differential privacy (clipping on the clients, uniform weights, noise
/// on the mean through <see cref="AddDpNoise"/>, accounting here) and secure aggregation (<see cref="AggregateMean"/>,
/// which calls <see cref="ApplyMeanDelta"/>) work with it. A strategy that needs each update as sent keeps
/// <see cref="UpdateForm.Individual"/>, and both are refused with a clear error at <see cref="Initialize"/>.
/// </para>
/// </summary>
public abstract class Strategy : IDisposable
{
    private const string GlobalPrefix = "global/";
    private const string MergedPrefix = "merged/";

    private readonly Dictionary<string, int> _issuedRanks = new(StringComparer.Ordinal);
    // Updates CheckUpdate passed this round (by reference): AggregateTrain does not check them twice.
    private readonly HashSet<NamedTensors> _checked = new(ReferenceEqualityComparer.Instance);
    private FederationSettings? _settings;
    private ClientRankPlan? _ranks;
    private UpdateValidator? _validator;
    private DpController? _dp;
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

    /// <summary>How a client's update enters the aggregate; <see cref="UpdateForm.Individual"/> refuses DP and secure aggregation.</summary>
    public virtual UpdateForm UpdateForm => UpdateForm.Individual;

    /// <summary>Why this strategy, as configured, cannot run under secure aggregation despite its linear form; null when it can.</summary>
    protected virtual string? SecureAggregationProblem => null;

    /// <summary>True when <see cref="FederationSettings.Robust"/> replaces this strategy's weighted mean.</summary>
    protected virtual bool SupportsRobustAggregation => false;

    /// <summary>True under differential privacy: every client weighs 1/m, so one client moves the mean by at most C/m.</summary>
    public bool UsesUniformWeights => _dp is not null;

    /// <summary>The DP controller (clip norm, noise, accountant) when the run is differentially private.</summary>
    public DpController? Dp => _dp;

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
        RejectUnsupportedMechanisms(settings);
        if (settings.Dp is { } dp) _dp = new DpController(dp, settings.ClientIds.Count);
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
        _checked.Clear();
        _configuredRound = round;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var tasks = new List<ClientTask>(ids.Count);
        for (var i = 0; i < ids.Count; i++)
        {
            var task = BuildTask(round, ids[i], ranks[i]);
            if (UpdateForm != UpdateForm.Individual)
            {
                // Clients measure, clip and (secure aggregation) sum their update in this strategy's form.
                var config = task.Config.With(UpdateSpace.FormKey, UpdateSpace.Name(UpdateForm));
                task = task with { Config = _dp?.Configure(config, ids.Count) ?? config };
            }
            tasks.Add(task);
            _issuedRanks[ids[i]] = ranks[i];
        }
        return tasks;
    }

    /// <summary>Why the run must stop before a round of <paramref name="selected"/> clients (its privacy budget would be exceeded), or null.</summary>
    public string? BudgetStop(int selected) => _dp?.BudgetStop(selected);

    /// <summary>
    /// Folds the updates that arrived into the global state. Every update is validated before anything changes, so
    /// on <see cref="InvalidClientUpdateException"/> the caller can drop that client and call again. No updates at all
    /// leaves the state unchanged. An update that passed <see cref="CheckUpdate"/> this round is not checked again
    /// (it must not have changed since), which takes validation off the round's critical path on a server.
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
        var weights = _dp is not null
            ? Enumerable.Repeat(1.0 / Math.Max(1, ordered.Count), ordered.Count).ToList()
            : ClientWeights.Of(ordered.Select(u => u.NumExamples).ToList(), Settings.MaxClientWeight);
        var contributions = ordered
            .Select((u, k) => new ClientContribution(u.ClientId, u.Adapter, weights[k], _issuedRanks[u.ClientId], Ranks.Scale))
            .ToList();

        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        using (no_grad())
        using (NewDisposeScope())
        {
            foreach (var c in contributions)
                if (!_checked.Contains(c.Adapter)) ValidateUpdate(c);
            if (contributions.Count > 0)
                foreach (var (key, value) in Aggregate(round, contributions)) metrics[key] = value;
        }
        foreach (var (key, value) in ClientMetricMeans(ordered, contributions))
            if (key != DpController.UnclippedMetric) metrics.TryAdd(key, value);
        if (_dp is not null && contributions.Count > 0)
        {
            // A client's bit only moves C by the same 1/m as an honest one; anything but 0/1 counts as clipped.
            var unclipped = ordered.Count(u => u.Metrics.TryGetValue(DpController.UnclippedMetric, out var bit) && bit == 1);
            foreach (var (key, value) in _dp.Account(round, _issuedRanks.Count, contributions.Count, unclipped)) metrics[key] = value;
        }
        _configuredRound = 0;
        _checked.Clear();
        return new RoundSummary(
            round,
            contributions.Select(c => c.ClientId).ToList(),
            contributions.ToDictionary(c => c.ClientId, c => c.Weight, StringComparer.Ordinal),
            ordered.Sum(u => u.NumExamples),
            metrics);
    }

    /// <summary>
    /// The layout (ordinal name order) of the update vector the clients of this round send under secure aggregation:
    /// the names and shapes <see cref="UpdateSpace.Delta"/> produces for this strategy's <see cref="UpdateForm"/>.
    /// </summary>
    public IReadOnlyList<(string Name, long[] Shape)> UpdateLayout(IReadOnlyList<string> clientIds)
    {
        EnsureInitialised();
        var ranks = clientIds.Select(Ranks.RankOf).Distinct().ToList();
        if (ranks.Count != 1) throw new InvalidOperationException($"Strategy '{Name}': a round's clients must share one rank to send one update layout.");
        IEnumerable<(string Name, long[] Shape)> entries = UpdateForm switch
        {
            // One rank for all (see SecureAggregationProblem), so the global adapter's shapes are the clients'.
            UpdateForm.AdapterDelta => GlobalAdapter.Where(kv => !(LoraAMayBeOmitted && LoraKeys.IsA(kv.Key))).Select(kv => (kv.Key, kv.Value.shape)),
            UpdateForm.LoraProduct => Modules.Select(m => (m.DenseKey, new[] { m.DOut, m.DIn })).Concat(ExtraKeys.Select(k => (k, GlobalAdapter[k].shape))),
            _ => throw new InvalidOperationException($"Strategy '{Name}' needs every update as sent; it has no update layout."),
        };
        return [.. entries.OrderBy(e => e.Name, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Secure aggregation's counterpart of <see cref="AggregateTrain"/>: folds the (weighted) mean of the clients'
    /// updates into the global state when the individual updates are never seen. Under DP the server adds its noise to
    /// <paramref name="meanDelta"/> (in place) and the round is accounted.
    /// </summary>
    /// <param name="round">The configured round.</param>
    /// <param name="clientIds">The clients whose updates are in the mean.</param>
    /// <param name="meanDelta">Mean Δ in <see cref="UpdateLayout"/>; the caller owns it.</param>
    /// <param name="totalExamples">Σ n_k when it is known (0 under DP's uniform weights).</param>
    /// <param name="clientMetrics">Round metrics derived from the clients' plaintext reports.</param>
    /// <param name="unclipped">How many updates DP left unclipped (adaptive clipping).</param>
    public RoundSummary AggregateMean(int round, IReadOnlyList<string> clientIds, NamedTensors meanDelta, long totalExamples,
        IReadOnlyDictionary<string, double> clientMetrics, int unclipped)
    {
        if (round != _configuredRound)
            throw new InvalidOperationException($"AggregateMean(round {round}) needs a preceding ConfigureTrain({round}) and runs once per round.");
        if (clientIds.Count == 0) throw new ArgumentException("A mean of no updates cannot be aggregated.");
        foreach (var id in clientIds)
            if (!_issuedRanks.ContainsKey(id)) throw new InvalidOperationException($"no task was issued to '{id}' in round {round}.");
        var layout = UpdateLayout(clientIds);
        if (!layout.Select(l => l.Name).SequenceEqual(meanDelta.Names) || !layout.All(l => meanDelta[l.Name].shape.SequenceEqual(l.Shape)))
            throw new ArgumentException($"The mean update's layout does not match strategy '{Name}'s update layout.");
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        using (no_grad())
        using (NewDisposeScope())
        {
            AddDpNoise(round, meanDelta.Select(kv => (kv.Key, kv.Value)), clientIds.Count);
            foreach (var (key, value) in ApplyMeanDelta(round, meanDelta)) metrics[key] = value;
        }
        foreach (var (key, value) in clientMetrics) metrics.TryAdd(key, value);
        if (_dp is not null)
            foreach (var (key, value) in _dp.Account(round, _issuedRanks.Count, clientIds.Count, unclipped)) metrics[key] = value;
        _configuredRound = 0;
        _checked.Clear();
        return new RoundSummary(round, [.. clientIds.Order(StringComparer.Ordinal)], new Dictionary<string, double>(StringComparer.Ordinal), totalExamples, metrics);
    }

    /// <summary>
    /// Changes the global state from the mean update of this round's clients (secure aggregation), laid out as
    /// <see cref="UpdateLayout"/>; runs under <c>no_grad</c> in a dispose scope. Strategies with a linear
    /// <see cref="UpdateForm"/> implement it.
    /// </summary>
    protected virtual IReadOnlyDictionary<string, double> ApplyMeanDelta(int round, NamedTensors meanDelta) =>
        throw new NotSupportedException($"Strategy '{Name}' does not aggregate from a mean update.");

    /// <summary>
    /// Adds the server's DP noise to the mean of <paramref name="aggregated"/> clipped updates, in place — call it on
    /// the mean (in the update's space: the adapter tensors, or FLoRA's dense product) before it changes the state.
    /// A no-op without DP or in client mode.
    /// </summary>
    protected void AddDpNoise(int round, IEnumerable<(string Name, Tensor Tensor)> mean, int aggregated) =>
        _dp?.AddNoise(mean, round, _issuedRanks.Count, aggregated);

    /// <summary>
    /// Re-homes <see cref="GlobalAdapter"/> into one flat buffer (<see cref="NamedTensors.Flat"/>) unless it already is,
    /// so that all of it can be rewritten with one kernel; false when it cannot be (a tensor is not fp32). Any
    /// <see cref="NamedTensors.Replace"/> of a global tensor unpacks it again.
    /// </summary>
    protected bool PackGlobalAdapter()
    {
        if (GlobalAdapter.Flat is not null) return true;
        if (GlobalAdapter.PackedCopy() is not { } packed) return false;
        GlobalAdapter.Dispose();
        GlobalAdapter = packed;
        return true;
    }

    /// <summary>The robust rule replacing the weighted mean, when the run has one.</summary>
    protected Robustness.Aggregators.IRobustAggregator? Robust => Settings.Robust;

    /// <summary>The LoRA rank this strategy trains <paramref name="clientId"/> at.</summary>
    internal int RankOf(string clientId)
    {
        EnsureInitialised();
        return Ranks.RankOf(clientId);
    }

    /// <summary>
    /// Checks one update against the task issued to its client this round — keys, shapes, dtype, finite values — and
    /// changes nothing, so a server can refuse a bad update the moment it arrives (<see cref="AggregateTrain"/> then
    /// trusts this instance for the rest of the round, so it must not change). Throws <see cref="InvalidClientUpdateException"/> naming the client and the tensor.
    /// </summary>
    public void CheckUpdate(ClientUpdate update)
    {
        RequireIssued(update);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        ValidateUpdate(new ClientContribution(update.ClientId, update.Adapter, 1.0, _issuedRanks[update.ClientId], Ranks.Scale));
        _checked.Add(update.Adapter);
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
        _dp?.Export(state);
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
        _dp?.Import(extra);
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

    private void RejectUnsupportedMechanisms(FederationSettings s)
    {
        if (s.Robust is { } robust && !SupportsRobustAggregation)
            throw new ArgumentException($"robust_aggregator '{robust.Name}' replaces the weighted mean of the FedAvg family (fedavg, fedprox, fedavgm, fedadagrad, fedadam, fedyogi); '{Name}' aggregates otherwise.");
        if (s.Dp is { } dp)
        {
            if (UpdateForm == UpdateForm.Individual)
                throw new ArgumentException($"differential privacy clips and noises an update that enters the aggregate through its mean; '{Name}' needs every update as sent. Use the FedAvg family, ffa-lora or flora.");
            if (dp.Mode == DpMode.Client && UpdateForm == UpdateForm.LoraProduct)
                throw new ArgumentException($"dp_mode: client with '{Name}': clients send B and A, and noise on the factors is amplified in B·A (algorithms.md §7.1). Use dp_mode: server (noise on the merged dense ΔW), or ffa-lora.");
        }
        if (s.SecureAggregation)
        {
            if (UpdateForm == UpdateForm.Individual)
                throw new ArgumentException($"secure aggregation gives the server only the sum of the updates; '{Name}' needs every update as sent. Use the FedAvg family, ffa-lora (one rank) or flora.");
            if (SecureAggregationProblem is { } problem) throw new ArgumentException(problem);
        }
    }

    private void EnsureInitialised()
    {
        if (_settings is null) throw NotInitialised();
    }

    private InvalidOperationException NotInitialised() => new($"Call Initialize on strategy '{Name}' first.");
}
