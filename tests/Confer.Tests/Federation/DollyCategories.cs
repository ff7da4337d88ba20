using Confer.Data;
using Confer.Tests.Data;

namespace Confer.Tests.Federation;

/// <summary>The category of every record of the Dolly-15k Shepherd training split (the ten client files pooled), read once.</summary>
internal static class DollyCategories
{
    private static readonly Lazy<IReadOnlyList<string?>> Loaded = new(() =>
        InstructionRecordReader.LoadAll(Enumerable.Range(0, 10).Select(i => DataPaths.DollyShard($"local_training_{i}.json")))
            .Select(r => r.Category).ToList());

    public static IReadOnlyList<string?> All => Loaded.Value;
}
