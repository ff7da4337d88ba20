using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Models;

/// <summary>
/// A layer whose frozen weight can be multiplied in a lower precision: it keeps a copy of the weight in that type and
/// runs its product on the copy until <see cref="UseFullPrecision"/>.
/// </summary>
internal interface ILowPrecisionMatmul
{
    /// <summary>Makes the copy and switches to it; false (and nothing changes) when the weight is trainable, whose
    /// gradient would then be computed in the low precision too.</summary>
    bool UseLowPrecision(ScalarType dtype);

    /// <summary>Frees the copy; the layer multiplies by its own weight again.</summary>
    void UseFullPrecision();
}

/// <summary>
/// Mixed-precision training for adapter fine-tuning, the part of PyTorch's CPU autocast (Hugging Face's
/// <c>bf16=True</c>) that pays: every product with a <em>frozen</em> weight (the base model's projections and its
/// output layer) runs in bfloat16 on a bf16 copy of the weight, its input cast to bf16 and its output cast back to
/// float32. Everything else stays float32: the residual stream, norms, attention scores and softmax, the LoRA branch,
/// the loss, gradients and optimiser. These products are nearly all of a LoRA step's arithmetic, and on a CPU with bf16
/// matrix units (AVX512-BF16, AMX) they run several times faster than in fp32; on one without, bf16 is emulated and
/// slower, so this is off by default. The copies live while this object does and are made when it is created, so the
/// frozen weights must not change meanwhile (they do not during a training run).
/// </summary>
internal sealed class LowPrecisionMatmuls : IDisposable
{
    private readonly List<ILowPrecisionMatmul> _layers = [];

    private LowPrecisionMatmuls() { }

    /// <summary>Frozen-weight products that run in the low precision.</summary>
    public int LayerCount => _layers.Count;

    /// <summary>Switches every frozen-weight product of <paramref name="model"/> to bfloat16.</summary>
    public static LowPrecisionMatmuls Enable(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var enabled = new LowPrecisionMatmuls();
        try
        {
            // The model itself may hold a frozen product too (a causal LM's output layer); Distinct in case modules() lists it.
            foreach (var layer in model.modules().Prepend(model).Distinct().OfType<ILowPrecisionMatmul>())
                if (layer.UseLowPrecision(ScalarType.BFloat16)) enabled._layers.Add(layer);
        }
        catch
        {
            enabled.Dispose();
            throw;
        }
        return enabled;
    }

    public void Dispose()
    {
        foreach (var layer in _layers) layer.UseFullPrecision();
        _layers.Clear();
    }

    /// <summary>
    /// A warning when this CPU reports no bf16 matrix instructions (neither AVX512-BF16 nor AMX in /proc/cpuinfo), so
    /// libtorch would emulate bf16 and training would run slower than in float32; null when it has them or when the
    /// flags cannot be read (not Linux).
    /// </summary>
    internal static string? HardwareNote() => File.Exists("/proc/cpuinfo") ? HardwareNote(File.ReadLines("/proc/cpuinfo")) : null;

    /// <summary><see cref="HardwareNote()"/> for the given /proc/cpuinfo lines.</summary>
    internal static string? HardwareNote(IEnumerable<string> cpuinfo)
    {
        var flags = cpuinfo.FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
        if (flags is null) return null;
        var set = flags[(flags.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return set.Contains("avx512_bf16") || set.Contains("amx_bf16")
            ? null
            : "bf16: this CPU reports neither AVX512-BF16 nor AMX, so bf16 products are emulated and training runs slower than in float32; " +
              "set bf16: false (./confer bench matmul --bf16 measures this CPU's bf16 speed)";
    }

    /// <summary>
    /// linear(x, W) + b with W given as its low-precision copy: x is cast to W's type for the product and the product
    /// back to x's type; the bias is added in x's type. Autograd casts the gradient the same way, so the input's
    /// gradient reaches the layers below in x's type.
    /// </summary>
    internal static Tensor Linear(Tensor input, Tensor lowPrecisionWeight, Tensor? bias)
    {
        using var scope = NewDisposeScope();
        var product = nn.functional.linear(input.to(lowPrecisionWeight.dtype), lowPrecisionWeight).to(input.dtype);
        if (bias is not null) product.add_(bias);
        return product.MoveToOuterDisposeScope();
    }

    /// <summary>A detached copy of a frozen <paramref name="weight"/> in <paramref name="dtype"/>, or null when the weight trains.</summary>
    internal static Tensor? CopyOf(Tensor weight, ScalarType dtype)
    {
        if (weight.requires_grad) return null;
        using var _ = no_grad();
        return weight.detach().to(dtype).DetachFromDisposeScope();
    }
}
