using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Confer.Peft;

/// <summary>
/// A linear layer (HF names <c>weight</c>, <c>bias</c>) that can carry one LoRA adapter (<c>lora_A</c>, <c>lora_B</c>,
/// PEFT layout): y = W₀x + b + s·B·A·dropout(x) with PEFT's scale s = α/r (α/√r with rsLoRA). Every projection in Confer's models is one of these, so enabling
/// LoRA never swaps modules. With B = 0 (PEFT init) the output equals the base layer's bit for bit.
/// </summary>
public sealed class LoraLinear : nn.Module<Tensor, Tensor>, Models.ILowPrecisionMatmul
{
    private readonly Parameter weight;
    private readonly Parameter? bias;
    private Linear? lora_A;
    private Linear? lora_B;
    private Dropout? lora_dropout;
    private double _scaling;
    private bool _merged;
    private Tensor? _lowPrecisionWeight;

    public LoraLinear(long inFeatures, long outFeatures, bool hasBias = false, ScalarType dtype = ScalarType.Float32, Device? device = null)
        : base(nameof(LoraLinear))
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        weight = new Parameter(empty(outFeatures, inFeatures, dtype: dtype, device: device));
        bias = hasBias ? new Parameter(zeros(outFeatures, dtype: dtype, device: device)) : null;
        // nn.Linear's default init, so a model built from a config (e.g. for pretraining) starts sensibly.
        using (no_grad())
        {
            nn.init.kaiming_uniform_(weight, a: Math.Sqrt(5));
            if (bias is not null)
            {
                var bound = 1.0 / Math.Sqrt(inFeatures);
                nn.init.uniform_(bias, -bound, bound);
            }
        }
        RegisterComponents();
    }

    public long InFeatures { get; }

    public long OutFeatures { get; }

    public Parameter Weight => weight;

    public Parameter? Bias => bias;

    /// <summary>The adapter's rank, or 0 when no adapter is attached.</summary>
    public int Rank => lora_A is null ? 0 : (int)lora_A.weight!.shape[0];

    /// <summary>The adapter's scale α/r, or α/√r with rsLoRA (0 without adapter).</summary>
    public double Scaling => _scaling;

    public bool HasAdapter => lora_A is not null;

    public bool IsMerged => _merged;

    /// <summary>lora_A.weight, r × d_in.</summary>
    public Parameter LoraA => lora_A?.weight ?? throw new InvalidOperationException("No LoRA adapter attached.");

    /// <summary>lora_B.weight, d_out × r.</summary>
    public Parameter LoraB => lora_B?.weight ?? throw new InvalidOperationException("No LoRA adapter attached.");

    /// <summary>
    /// Attaches a fresh adapter with PEFT's initialisation: A ~ kaiming_uniform(a=√5) (i.e. U(±1/√d_in)), B = 0.
    /// Replaces any existing adapter. The base weight is frozen; the adapter is trainable. <paramref name="rsLora"/>
    /// scales by α/√r (PEFT's use_rslora) instead of α/r.
    /// </summary>
    public void AttachAdapter(int rank, double alpha, double dropout = 0.0, Generator? generator = null, bool rsLora = false)
    {
        if (rank <= 0) throw new ArgumentOutOfRangeException(nameof(rank), rank, "LoRA rank must be positive.");
        DetachAdapter();
        var dtype = weight.dtype;
        var device = weight.device;
        lora_A = nn.Linear(InFeatures, rank, hasBias: false, device: device, dtype: dtype);
        lora_B = nn.Linear(rank, OutFeatures, hasBias: false, device: device, dtype: dtype);
        using (no_grad())
        {
            var bound = 1.0 / Math.Sqrt(InFeatures);
            lora_A.weight!.uniform_(-bound, bound, generator: generator);
            lora_B.weight!.zero_();
        }
        lora_dropout = dropout > 0 ? nn.Dropout(dropout) : null;
        _scaling = alpha / (rsLora ? Math.Sqrt(rank) : rank);
        register_module("lora_A", lora_A);
        register_module("lora_B", lora_B);
        if (lora_dropout is not null) register_module("lora_dropout", lora_dropout);
        // New modules start in training mode; follow the host model's mode so eval stays deterministic.
        lora_A.train(training);
        lora_B.train(training);
        lora_dropout?.train(training);
        weight.requires_grad = false;
        if (bias is not null) bias.requires_grad = false;
    }

    /// <summary>Removes the adapter (unmerging it first if merged).</summary>
    public void DetachAdapter()
    {
        if (lora_A is null) return;
        if (_merged) Unmerge();
        register_module("lora_A", null!);
        register_module("lora_B", null!);
        if (lora_dropout is not null) register_module("lora_dropout", null!);
        lora_A.Dispose();
        lora_B!.Dispose();
        lora_dropout?.Dispose();
        lora_A = null;
        lora_B = null;
        lora_dropout = null;
        _scaling = 0;
    }

    /// <summary>ΔW = s·B·A, d_out × d_in.</summary>
    public Tensor DeltaWeight()
    {
        using var _ = no_grad();
        return LoraB.matmul(LoraA).mul_(_scaling);
    }

    /// <summary>Folds the adapter into the base weight (W ← W + ΔW); forward then skips the adapter branch.</summary>
    public void Merge()
    {
        if (_merged || lora_A is null) return;
        using var _ = no_grad();
        using var delta = DeltaWeight();
        weight.add_(delta);
        _merged = true;
        RefreshLowPrecisionCopy();
    }

    /// <summary>Undoes <see cref="Merge"/> (W ← W − ΔW).</summary>
    public void Unmerge()
    {
        if (!_merged) return;
        using var _ = no_grad();
        using var delta = DeltaWeight();
        weight.sub_(delta);
        _merged = false;
        RefreshLowPrecisionCopy();
    }

    /// <summary>Adds a dense update to the frozen base weight (FLoRA's per-round merge).</summary>
    public void AddToWeight(Tensor delta)
    {
        if (!delta.shape.SequenceEqual(weight.shape))
            throw new ArgumentException($"Dense update shape [{string.Join(",", delta.shape)}] does not match weight [{string.Join(",", weight.shape)}].", nameof(delta));
        using var _ = no_grad();
        using var converted = delta.to(weight.dtype, weight.device); // a new handle even when nothing converts
        weight.add_(converted);
        RefreshLowPrecisionCopy();
    }

    /// <summary>The type the base product runs in: the weight's own, or that of the low-precision copy while
    /// <see cref="Models.LowPrecisionMatmuls"/> is enabled.</summary>
    internal ScalarType BaseProductType => _lowPrecisionWeight?.dtype ?? weight.dtype;

    bool Models.ILowPrecisionMatmul.UseLowPrecision(ScalarType dtype)
    {
        ((Models.ILowPrecisionMatmul)this).UseFullPrecision();
        _lowPrecisionWeight = Models.LowPrecisionMatmuls.CopyOf(weight, dtype);
        return _lowPrecisionWeight is not null;
    }

    void Models.ILowPrecisionMatmul.UseFullPrecision()
    {
        _lowPrecisionWeight?.Dispose();
        _lowPrecisionWeight = null;
    }

    /// <summary>After the weight changed in place (merge, unmerge, a dense update), a live low-precision copy follows it.</summary>
    private void RefreshLowPrecisionCopy()
    {
        if (_lowPrecisionWeight is { } copy) ((Models.ILowPrecisionMatmul)this).UseLowPrecision(copy.dtype);
    }

    public override Tensor forward(Tensor input)
    {
        var result = _lowPrecisionWeight is null
            ? nn.functional.linear(input, weight, bias)
            : Models.LowPrecisionMatmuls.Linear(input, _lowPrecisionWeight, bias);
        if (lora_A is null || _merged) return result;
        // The branch's intermediates die here, not with the caller's training step, whose dispose scope would otherwise
        // keep each handle (and so its memory) alive until the step ends, where PyTorch frees an intermediate at once.
        // Autograd keeps what backward needs; the B projection alone is as large as the layer's output.
        using var scope = NewDisposeScope();
        var x = lora_dropout is null ? input : lora_dropout.forward(input);
        return result.add_(lora_B!.forward(lora_A.forward(x)), alpha: _scaling);
    }
}
