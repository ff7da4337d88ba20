using System.Text.Json.Serialization;

namespace Confer.Federation.Allocation;

/// <summary>One client's share: its size and how many records of each category it holds.</summary>
public sealed record ClientShare(int Client, int Size, IReadOnlyDictionary<string, int> Categories)
{
    /// <summary>The training records the client had before a size cap kept <see cref="Size"/> of them; null when uncapped.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? CappedFrom { get; init; }
}
