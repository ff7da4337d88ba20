namespace Confer.Tests.Data;

/// <summary>Locates the repository root (the folder holding Confer.sln) and the Dolly shards in the shared data.</summary>
internal static class DataPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string DollyShard(string name) => SharedDataPath.Of("dolly-15k", "shepherd-10clients", name);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Confer.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"No Confer.sln above {AppContext.BaseDirectory}.");
    }
}

/// <summary>A temporary file deleted on dispose.</summary>
internal sealed class TempFile : IDisposable
{
    public TempFile(string contents, string extension = ".json")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"confer-{Guid.NewGuid():N}{extension}");
        File.WriteAllText(Path, contents);
    }

    public string Path { get; }

    public void Dispose() => File.Delete(Path);
}
