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

    /// <summary>
    /// One contiguous fp32 buffer whose consecutive segments are this map's tensors in order (each tensor a view of it),
    /// or null. Only <see cref="PackedCopy"/> sets it, and any change to the map (<see cref="Add"/>,
    /// <see cref="Replace"/>, <see cref="Remove"/>) drops it, so a non-null buffer always mirrors the map; in-place
    /// writes to a tensor are writes to the buffer. Lets a server check and average an update with one kernel instead
    /// of one per tensor.
    /// </summary>
    internal Tensor? Flat { get; private set; }

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
        DropFlat();
        _names.Add(name);
        _tensors[name] = tensor.DetachFromDisposeScope();
    }

    /// <summary>Replaces the tensor stored under an existing name, disposing the old one.</summary>
    public void Replace(string name, Tensor tensor)
    {
        if (!_tensors.TryGetValue(name, out var old)) throw new KeyNotFoundException($"No tensor named '{name}'.");
        if (!ReferenceEquals(old, tensor)) DropFlat();
        _tensors[name] = tensor.DetachFromDisposeScope();
        if (!ReferenceEquals(old, tensor)) old.Dispose();
    }

    /// <summary>Removes and disposes the tensor stored under <paramref name="name"/>.</summary>
    public void Remove(string name)
    {
        if (!_tensors.Remove(name, out var old)) throw new KeyNotFoundException($"No tensor named '{name}'.");
        DropFlat();
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

    /// <summary>
    /// A copy whose tensors are consecutive views of one new fp32 buffer (<see cref="Flat"/>), with the same names,
    /// order and shapes; null when a tensor is not fp32 (converting would hide what the sender sent).
    /// </summary>
    internal NamedTensors? PackedCopy()
    {
        if (_names.Any(n => _tensors[n].dtype != ScalarType.Float32)) return null;
        var packed = new NamedTensors();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var flat = _names.Count == 0
            ? empty(0, ScalarType.Float32)
            : cat(_names.Select(n => _tensors[n].detach().reshape(-1)).ToList(), 0);
        long offset = 0;
        foreach (var name in _names)
        {
            var shape = _tensors[name].shape;
            var count = shape.Aggregate(1L, (a, b) => a * b);
            packed.Add(name, flat.narrow(0, offset, count).view(shape));
            offset += count;
        }
        packed.Flat = flat.DetachFromDisposeScope();
        return packed;
    }

    /// <summary>Forgets the flat buffer (its storage lives on while the tensor views do).</summary>
    private void DropFlat()
    {
        Flat?.Dispose();
        Flat = null;
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
        DropFlat();
        foreach (var t in _tensors.Values) t.Dispose();
        _tensors.Clear();
        _names.Clear();
    }
}
