namespace Confer.Tests;

/// <summary>Paths into the read-only shared data folder that sits beside the repository (<c>../shared/data</c>).</summary>
internal static class SharedDataPath
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Confer.sln")))
                return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data"));
        }
        throw new DirectoryNotFoundException($"No folder containing Confer.sln above '{AppContext.BaseDirectory}'.");
    });

    /// <summary>The path of <paramref name="parts"/> under the shared data folder.</summary>
    public static string Of(params string[] parts) => Path.Combine([Root.Value, .. parts]);
}
