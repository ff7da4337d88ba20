using Confer.Data;

namespace Confer.Federation.Simulation;

/// <summary>One simulated client's private data: its training examples and a held-out local test split.</summary>
public sealed record ClientData(string Id, IReadOnlyList<TokenizedExample> Train, IReadOnlyList<TokenizedExample> LocalTest);
