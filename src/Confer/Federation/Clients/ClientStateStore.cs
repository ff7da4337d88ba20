using System.Globalization;
using Confer.Models;
using Confer.Models.Safetensors;

namespace Confer.Federation.Clients;

/// <summary>
/// What a client keeps from one round to the next (today: the error-feedback residuals of a sparsifying uplink codec),
/// stored per client, per slot and per round. A round's entry is written once that round's update is encoded; a
/// reader asks for the newest entry written for a round <em>before</em> the one it is working on, so a round that is
/// run again (a retried attempt, a restarted server, a resumed simulation) starts from the same state as its first
/// run did, and a restarted client continues exactly where it stopped.
/// </summary>
public interface IClientStateStore
{
    /// <summary>The newest entry of <paramref name="slot"/> written for a round before <paramref name="round"/>, or null; the caller owns it.</summary>
    NamedTensors? Read(string clientId, string slot, int round);

    /// <summary>Records the entry of <paramref name="slot"/> for <paramref name="round"/> (replacing one written for that round before).</summary>
    void Write(string clientId, string slot, int round, NamedTensors tensors);
}

/// <summary>
/// Client state in files: <c>&lt;root&gt;/&lt;client&gt;/&lt;slot&gt;/round-NNNNNN.safetensors</c>, each written atomically
/// (temp, fsync, rename). A write keeps the entry it was based on (the newest before its round) and removes older
/// ones, so a re-run of the latest round still finds its starting state and the folder never holds more than two
/// entries per slot. A simulation keeps its clients' state in <c>&lt;run&gt;/clients</c>; <c>confer client</c> in its
/// <c>state</c> folder, under the run's fingerprint.
/// </summary>
public sealed class FolderClientStateStore(string root) : IClientStateStore
{
    private const string Prefix = "round-";
    private const string Extension = ".safetensors";

    public string Root { get; } = Path.GetFullPath(root);

    public NamedTensors? Read(string clientId, string slot, int round)
    {
        var newest = Entries(clientId, slot).Where(e => e.Round < round).OrderByDescending(e => e.Round).FirstOrDefault();
        return newest.Path is null ? null : SafetensorsFile.Load(newest.Path);
    }

    public void Write(string clientId, string slot, int round, NamedTensors tensors)
    {
        var folder = SlotFolder(clientId, slot);
        SafetensorsFile.Save(Path.Combine(folder, $"{Prefix}{round:D6}{Extension}"), tensors);
        var entries = Entries(clientId, slot).ToList();
        var basis = entries.Where(e => e.Round < round).Select(e => e.Round).DefaultIfEmpty(int.MinValue).Max();
        foreach (var e in entries.Where(e => e.Round < basis)) File.Delete(e.Path!);
    }

    private IEnumerable<(int Round, string? Path)> Entries(string clientId, string slot)
    {
        var folder = SlotFolder(clientId, slot);
        if (!Directory.Exists(folder)) yield break;
        foreach (var path in Directory.EnumerateFiles(folder, Prefix + "*" + Extension))
        {
            var name = Path.GetFileName(path);
            if (int.TryParse(name.AsSpan(Prefix.Length, name.Length - Prefix.Length - Extension.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var r))
                yield return (r, path);
        }
    }

    private string SlotFolder(string clientId, string slot) => Path.Combine(Root, SafeName(clientId, "client id"), SafeName(slot, "state slot"));

    /// <summary>Client ids come from enrolment; one that could leave the folder (a path separator, <c>..</c>) is refused, not rewritten.</summary>
    private static string SafeName(string name, string what) =>
        name.Length > 0 && name != "." && name != ".." && name.IndexOfAny(['/', '\\', '\0']) < 0
            ? name
            : throw new ArgumentException($"The {what} '{name}' cannot name a folder of the client state store.");
}

/// <summary>Client state in memory only: for tests and benchmarks, and a <c>confer client</c> run without a <c>state</c> folder (lost on restart).</summary>
public sealed class MemoryClientStateStore : IClientStateStore, IDisposable
{
    private readonly Dictionary<(string Client, string Slot), SortedDictionary<int, NamedTensors>> _entries = [];
    private readonly Lock _lock = new();

    public NamedTensors? Read(string clientId, string slot, int round)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue((clientId, slot), out var rounds)) return null;
            var newest = rounds.Keys.Where(r => r < round).DefaultIfEmpty(int.MinValue).Max();
            return rounds.TryGetValue(newest, out var t) ? t.Clone() : null;
        }
    }

    public void Write(string clientId, string slot, int round, NamedTensors tensors)
    {
        var copy = tensors.Clone();
        lock (_lock)
        {
            if (!_entries.TryGetValue((clientId, slot), out var rounds)) _entries[(clientId, slot)] = rounds = [];
            if (rounds.Remove(round, out var old)) old.Dispose();
            rounds[round] = copy;
            var basis = rounds.Keys.Where(r => r < round).DefaultIfEmpty(int.MinValue).Max();
            foreach (var r in rounds.Keys.Where(r => r < basis).ToList())
            {
                rounds[r].Dispose();
                rounds.Remove(r);
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var t in _entries.Values.SelectMany(r => r.Values)) t.Dispose();
            _entries.Clear();
        }
    }
}
