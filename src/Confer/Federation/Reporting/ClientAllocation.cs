namespace Confer.Federation.Reporting;

/// <summary>
/// One client's training data as allocation.json describes it: its size and its records per category, and the records
/// it had before <c>max_client_records</c> cut it to <see cref="Size"/> (null when uncapped).
/// </summary>
internal sealed record ClientAllocation(string Client, int Size, IReadOnlyDictionary<string, int> Categories, int? CappedFrom = null);
