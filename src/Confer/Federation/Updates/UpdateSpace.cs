using System.Globalization;
using Confer.Federation.Strategies;
using Confer.Models;
using Confer.Peft;
using static TorchSharp.torch;

namespace Confer.Federation.Updates;

/// <summary>
/// A client update Δ_k as the vector DP clips and secure aggregation sums, computed identically by a client (from its
/// decoded task and its trained tensors) and by the server (from the task it issued and the decoded update). Tensors
/// are ordered by ordinal name, so both sides flatten them in the same order.
/// </summary>
public static class UpdateSpace
{
    /// <summary>The task config key that tells a client its strategy's <see cref="UpdateForm"/>.</summary>
    public const string FormKey = "update_form";

    public static string Name(UpdateForm form) => form switch
    {
        UpdateForm.AdapterDelta => "adapter_delta",
        UpdateForm.LoraProduct => "lora_product",
        _ => "individual",
    };

    /// <summary>The form a task names; <see cref="InvalidDataException"/> when it names none or an unknown one.</summary>
    public static UpdateForm FormOf(ClientTask task) => task.Config.Get(FormKey) switch
    {
        "adapter_delta" => UpdateForm.AdapterDelta,
        "lora_product" => UpdateForm.LoraProduct,
        null => throw new InvalidDataException($"the task does not say how its update is measured ('{FormKey}' is missing)."),
        var other => throw new InvalidDataException($"the task's '{FormKey}' is '{other}', which this client does not know."),
    };

    /// <summary>Δ_k in the form's layout (fp32, ordinal name order). The caller owns the result.</summary>
    public static NamedTensors Delta(UpdateForm form, NamedTensors trained, ClientTask task)
    {
        var delta = new NamedTensors();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (name, path) in Entries(form, trained))
        {
            if (path is not null)
                delta.Add(name, TensorMath.Fp32(trained[LoraKeys.B(path)]).matmul(TensorMath.Fp32(trained[LoraKeys.A(path)])).mul(Scale(task)));
            else delta.Add(name, Change(trained, name, task));
        }
        return delta;
    }

    /// <summary>‖Δ_k‖₂ over the whole flattened update, without forming a dense product (‖BA‖ through r×r Gram matrices).</summary>
    public static double Norm(UpdateForm form, NamedTensors trained, ClientTask task)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        double squared = 0;
        foreach (var (name, path) in Entries(form, trained))
        {
            if (path is not null)
            {
                var norm = TensorMath.ProductNorm(trained[LoraKeys.B(path)], trained[LoraKeys.A(path)]) * Scale(task);
                squared += norm * norm;
            }
            else squared += Change(trained, name, task).to(ScalarType.Float64).square().sum().item<double>();
        }
        return Math.Sqrt(squared);
    }

    /// <summary>
    /// The trained tensors with Δ_k scaled by <paramref name="factor"/>: start + f·(θ − start) per tensor, or, for a
    /// LoRA product, B scaled by f (A unchanged). A new set the caller owns.
    /// </summary>
    public static NamedTensors Scaled(UpdateForm form, NamedTensors trained, ClientTask task, double factor)
    {
        var result = new NamedTensors();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (name, t) in trained)
        {
            Tensor scaled;
            if (form == UpdateForm.LoraProduct && LoraKeys.IsA(name)) scaled = t.clone();
            else if (form == UpdateForm.LoraProduct && LoraKeys.IsB(name)) scaled = TensorMath.Fp32(t).mul(factor);
            else scaled = Start(task, name, t).add(Change(trained, name, task), alpha: factor);
            result.Add(name, scaled.to(t.dtype));
        }
        return result;
    }

    /// <summary>
    /// Δ's tensors in ordinal name order, each with the LoRA module whose dense product it is (null for a tensor's own
    /// change). Products are named like merged ΔW (<see cref="LoraKeys.DenseWeight"/>).
    /// </summary>
    public static IReadOnlyList<(string Name, string? ProductOf)> Entries(UpdateForm form, NamedTensors trained)
    {
        if (form == UpdateForm.Individual) throw new InvalidOperationException("An individual update has no linear form.");
        if (form == UpdateForm.AdapterDelta) return [.. trained.Names.Order(StringComparer.Ordinal).Select(n => (n, (string?)null))];
        var dense = LoraKeys.ModulePaths(trained.Names).Select(p => (LoraKeys.DenseWeight(p), (string?)p));
        var others = trained.Names.Where(n => !LoraKeys.IsA(n) && !LoraKeys.IsB(n)).Select(n => (n, (string?)null));
        return [.. dense.Concat(others).OrderBy(e => e.Item1, StringComparer.Ordinal)];
    }

    private static double Scale(ClientTask task) => task.LoraAlpha / task.LoraRank;

    private static Tensor Change(NamedTensors trained, string name, ClientTask task)
    {
        var t = trained[name];
        return TensorMath.Fp32(t).sub(Start(task, name, t));
    }

    private static Tensor Start(ClientTask task, string name, Tensor trained)
    {
        if (task.Adapter is null || !task.Adapter.TryGet(name, out var start))
            throw new InvalidDataException($"tensor '{name}' has no start value in the task, so its change cannot be measured.");
        if (!start.shape.SequenceEqual(trained.shape))
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"tensor '{name}' has shape [{string.Join(",", trained.shape)}] but started as [{string.Join(",", start.shape)}]."));
        return TensorMath.Fp32(start);
    }
}
