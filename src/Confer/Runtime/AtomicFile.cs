using System.Text;

namespace Confer.Runtime;

/// <summary>
/// Crash-safe file writes: write a temporary file beside the target, flush it to disk, then rename it over the target.
/// A reader sees either the old file or the complete new one, never a torn write.
/// </summary>
public static class AtomicFile
{
    /// <summary>What a temporary file's name carries after the target's name.</summary>
    private const string TempMarker = ".tmp-";

    /// <remarks><paramref name="unixCreateMode"/>: the permissions the file is created with on Unix (owner-only for a private
    /// key), so its content is never readable by others, not even briefly; ignored on Windows, where the folder's ACL applies.</remarks>
    public static void Write(string path, Action<Stream> write, UnixFileMode? unixCreateMode = null)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = $"{full}{TempMarker}{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 1 << 20 };
            if (unixCreateMode is { } mode && !OperatingSystem.IsWindows()) options.UnixCreateMode = mode;
            using (var stream = new FileStream(tmp, options))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { /* best effort: the original stays intact either way */ }
            throw;
        }
    }

    /// <summary>
    /// Deletes the temporary files that writes interrupted by a crash (kill -9, power loss) left under
    /// <paramref name="folder"/>. Call it only when no other process may be writing there, e.g. when a run starts.
    /// </summary>
    public static void RemoveLeftovers(string folder)
    {
        if (!Directory.Exists(folder)) return;
        foreach (var file in Directory.EnumerateFiles(folder, "*" + TempMarker + "*", SearchOption.AllDirectories))
            File.Delete(file);
    }

    public static void WriteAllText(string path, string text) => WriteAllBytes(path, Encoding.UTF8.GetBytes(text));

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }
}
