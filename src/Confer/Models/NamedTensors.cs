using System.Collections;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Models;

/// <summary>
/// An ordered map from parameter name to tensor: the unit that PEFT exposes, that a strategy aggregates, that a codec
/// compresses and that the transport moves. It owns its tensors (they are detached from any dispose scope) and frees
/// them on <see cref="Dispose"/>. Order is insertion order, so two peers that build it the same way agree on it.
/// </summary>
public sealed class NamedTensors : IReadOnlyList<KeyValuePair<string, Tensor>>, IDisposable
{
    private readonly List<string> _names = new();
    private readonly Dictionary<string, Tensor> _tensors = new(StringComparer.Ordinal);

    public int Count => _names.Count;

    public IReadOnlyList<string> Names => _names;

    public Tensor this[string name] => _tensors.TryGetValue(name, out var t)
        ? t
        : throw new KeyNotFoundException($"No tensor named '{name}'. Known names start with: {string.Join(", ", _names.Take(5))}");

    public KeyValuePair<string, Tensor> this[int index] => new(_names[index], _tensors[_names[index]]);

    /// <summary>Total number of elements over all tensors.</summary>
    public long ElementCount => _tensors.Values.Sum(t => t.numel());

    /// <summary>Total payload size in bytes at the tensors' current dtypes.</summary>
    public long ByteCount => _tensors.Values.Sum(t => t.numel() * t.element_size());

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public bool TryGet(string name, out Tensor tensor) => _tensors.TryGetValue(name, out tensor!);

    /// <summary>Adds a tensor and takes ownership of it. Names must be unique.</summary>
    public void Add(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (_tensors.ContainsKey(name)) throw new ArgumentException($"Duplicate tensor name '{name}'.", nameof(name));
        _names.Add(name);
        _tensors[name] = tensor.DetachFromDisposeScope();
    }

    /// <summary>Replaces the tensor stored under an existing name, disposing the old one.</summary>
    public void Replace(string name, Tensor tensor)
    {
        if (!_tensors.TryGetValue(name, out var old)) throw new KeyNotFoundException($"No tensor named '{name}'.");
        _tensors[name] = tensor.DetachFromDisposeScope();
        if (!ReferenceEquals(old, tensor)) old.Dispose();
    }

    /// <summary>Removes and disposes the tensor stored under <paramref name="name"/>.</summary>
    public void Remove(string name)
    {
        if (!_tensors.Remove(name, out var old)) throw new KeyNotFoundException($"No tensor named '{name}'.");
        _names.Remove(name);
        old.Dispose();
    }

    /// <summary>A deep copy (detached from autograd) on the given device and dtype, or the current ones.</summary>
    public NamedTensors Clone(Device? device = null, ScalarType? dtype = null)
    {
        var copy = new NamedTensors();
        using var _ = no_grad();
        using var scope = NewDisposeScope(); // frees the intermediate handles; Add detaches the survivors
        foreach (var name in _names)
        {
            var t = _tensors[name].detach();
            if (device is not null) t = t.to(device);
            if (dtype is not null) t = t.to(dtype.Value);
            copy.Add(name, t.clone());
        }
        return copy;
    }

    /// <summary>True when both hold the same names in the same order with equal shapes and dtypes.</summary>
    public bool HasSameLayout(NamedTensors other) =>
        _names.SequenceEqual(other._names) &&
        _names.All(n => _tensors[n].dtype == other._tensors[n].dtype && _tensors[n].shape.SequenceEqual(other._tensors[n].shape));

    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator()
    {
        foreach (var name in _names) yield return new(name, _tensors[name]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public void Dispose()
    {
        foreach (var t in _tensors.Values) t.Dispose();
        _tensors.Clear();
        _names.Clear();
    }
}
