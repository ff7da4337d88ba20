namespace Confer.PublicApi.Tests;

/// <summary>Files of this repository (the folder holding Confer.sln), found from the test binary.</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Confer.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"No folder containing Confer.sln above '{AppContext.BaseDirectory}'.");
    });

    public static string Of(params string[] parts) => Path.Combine([Root.Value, .. parts]);
}
