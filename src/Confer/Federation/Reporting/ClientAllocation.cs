namespace Confer.Federation.Reporting;

/// <summary>One client's training data as allocation.json describes it: its size and its records per category.</summary>
internal sealed record ClientAllocation(string Client, int Size, IReadOnlyDictionary<string, int> Categories);
