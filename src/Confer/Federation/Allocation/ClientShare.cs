namespace Confer.Federation.Allocation;

/// <summary>One client's share: its size and how many records of each category it holds.</summary>
public sealed record ClientShare(int Client, int Size, IReadOnlyDictionary<string, int> Categories);
