namespace Confer.Federation;

/// <summary>Traffic between the server and one client in one round.</summary>
public sealed record ClientTraffic(int Round, string ClientId, TransferCost Down, TransferCost Up);
