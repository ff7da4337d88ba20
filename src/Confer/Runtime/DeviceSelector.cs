using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Runtime;

/// <summary>Parses a user's device choice and checks that it exists, so a missing GPU is a clear error, not a crash.</summary>
public static class DeviceSelector
{
    public static Device Parse(string name)
    {
        var n = name.Trim().ToLowerInvariant();
        if (n == "cpu") return CPU;
        if (n.StartsWith("cuda", StringComparison.Ordinal))
        {
            if (!cuda.is_available())
                throw new NotSupportedException($"Device '{name}' was requested but TorchSharp finds no CUDA device (this build uses TorchSharp-cpu); use --device cpu.");
            return new Device(n);
        }
        throw new ArgumentException($"Unknown device '{name}': use cpu or cuda[:N].");
    }
}
