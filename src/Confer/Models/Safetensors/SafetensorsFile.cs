using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Models.Safetensors;

/// <summary>
/// Reads and writes the Hugging Face safetensors format, the only weight format Confer uses: an 8-byte little-endian
/// header length, a JSON header <c>{name: {dtype, shape, data_offsets}}</c> with optional <c>__metadata__</c>, then
/// raw little-endian tensor data. Every structural property of the header is checked before any tensor is created,
/// so a corrupt or truncated file fails with an <see cref="InvalidDataException"/> naming the file and tensor.
/// </summary>
public static class SafetensorsFile
{
    /// <summary>Loads every tensor of the file, in file order, onto <paramref name="device"/> (CPU by default).</summary>
    /// <exception cref="InvalidDataException">The file is truncated, its header is corrupt or inconsistent, or a dtype is unsupported.</exception>
    public static NamedTensors Load(string path, Device? device = null)
    {
        using var handle = OpenRead(path);
        var header = SafetensorsHeader.Read(path, handle);
        var result = new NamedTensors();
        try
        {
            foreach (var info in header.Tensors)
                result.Add(info.Name, ReadTensor(handle, header, info, device));
        }
        catch
        {
            result.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>The parsed, validated header (names, dtypes, shapes, offsets) without reading any tensor data.</summary>
    public static SafetensorsHeader ReadHeader(string path)
    {
        using var handle = OpenRead(path);
        return SafetensorsHeader.Read(path, handle);
    }

    /// <summary>The file's <c>__metadata__</c> map (PEFT and transformers write <c>{"format": "pt"}</c>); empty if absent.</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path) => ReadHeader(path).Metadata;

    /// <summary>
    /// Writes <paramref name="tensors"/> at their current dtypes, byte-identical to what Python's <c>safetensors</c>
    /// writes for the same tensors, atomically (temp file, fsync, rename), so a crash never leaves a torn file.
    /// </summary>
    public static void Save(string path, NamedTensors tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafetensorsWriter.Write(path, tensors, metadata);

    /// <summary>Writes tensors the caller keeps owning (e.g. a module's state dict).</summary>
    internal static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafetensorsWriter.Write(path, tensors, metadata);

    /// <summary>Reads one tensor described by <paramref name="header"/> into a fresh CPU tensor, then moves it to <paramref name="device"/>.</summary>
    internal static Tensor ReadTensor(SafeFileHandle handle, SafetensorsHeader header, SafetensorsTensorInfo info, Device? device)
    {
        var tensor = empty(info.Shape, info.ScalarType);
        try
        {
            TensorBytes.Read(handle, tensor, header.DataStart + info.Begin, header.Path);
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
        if (device is null || device.type == DeviceType.CPU) return tensor;
        using (tensor) return tensor.to(device);
    }

    internal static SafeFileHandle OpenRead(string path) =>
        File.Exists(path)
            ? File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read)
            : throw new FileNotFoundException($"Safetensors file '{path}' does not exist.", path);
}
