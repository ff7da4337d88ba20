namespace Confer.Transport;

/// <summary>Constants of <c>Protos/federation.proto</c> that both ends must agree on.</summary>
internal static class ProtocolInfo
{
    /// <summary>Bumped whenever a message changes meaning; a client and server of different versions refuse each other at join.</summary>
    public const uint Version = 3;

    /// <summary>Largest gRPC message either side accepts; tensors travel in frames well below it.</summary>
    public const int MaxMessageBytes = 8 << 20;

    public const string AdapterSection = "adapter";
    public const string BaseDeltaSection = "base_delta";
    public const string UpdateSection = "update";
}
