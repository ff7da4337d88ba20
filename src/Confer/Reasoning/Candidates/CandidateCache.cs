using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confer.Data;
using Confer.Runtime;

namespace Confer.Reasoning.Candidates;

/// <summary>
/// Raw completions on disk, one file per (actor, data set, split, K, seed, sampling, prompt, questions), so that
/// discriminator training and every baseline read the candidates instead of regenerating them. A file is JSON Lines:
/// a header with the full key, one line per question, and a trailer with the line count and the SHA-256 of every byte
/// before it; it is written atomically. A file whose header, key, lines or checksum do not match — a truncated write,
/// a flipped byte, an edit — is reported and regenerated, never trusted. Only completions are stored: answers and
/// labels are re-read on load, so a fixed extractor needs no regeneration.
/// </summary>
public sealed class CandidateCache(string folder)
{
    private const string Format = "confer-candidates/1";

    public string Folder { get; } = folder;

    /// <summary>What identifies one cached set of completions.</summary>
    /// <param name="Actor">The actor's name and, for a local model, its weights' fingerprint.</param>
    /// <param name="Dataset">Data-set name.</param>
    /// <param name="Split">train or test.</param>
    /// <param name="Sampling">K, temperature, top_p, max tokens, seed.</param>
    /// <param name="Prompt">The prompt template's name.</param>
    /// <param name="Greedy">Whether each question also has its greedy completion.</param>
    public sealed record Key(string Actor, string Dataset, string Split, CandidateSampling Sampling, string Prompt, bool Greedy);

    /// <summary>One question's completions as stored.</summary>
    public sealed record Entry(IReadOnlyList<string> Samples, string? Greedy);

    /// <summary>The file that holds (or will hold) <paramref name="key"/>'s completions for <paramref name="questions"/>.</summary>
    public string PathFor(Key key, IReadOnlyList<QaRecord> questions)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(KeyJson(key, questions).ToJsonString())))[..16];
        var safe = string.Concat(key.Dataset.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '_'));
        return Path.Combine(Folder, $"{safe}-{key.Split}-k{key.Sampling.K}-s{key.Sampling.Seed}-{hash}.jsonl");
    }

    /// <summary>The cached completions, or null with the reason when there are none or the file cannot be trusted.</summary>
    public (IReadOnlyList<Entry>? Entries, string? Problem) TryLoad(Key key, IReadOnlyList<QaRecord> questions)
    {
        var path = PathFor(key, questions);
        if (!File.Exists(path)) return (null, null);
        try
        {
            return (Read(path, key, questions), null);
        }
        catch (InvalidDataException e)
        {
            return (null, $"{path}: {e.Message}");
        }
    }

    /// <summary>Writes the completions atomically (temp file, fsync, rename).</summary>
    public void Save(Key key, IReadOnlyList<QaRecord> questions, IReadOnlyList<Entry> entries)
    {
        if (entries.Count != questions.Count) throw new ArgumentException($"{entries.Count} entries for {questions.Count} questions.", nameof(entries));
        Directory.CreateDirectory(Folder);
        var body = new StringBuilder();
        body.Append(new JsonObject { ["format"] = Format, ["key"] = KeyJson(key, questions), ["questions"] = questions.Count }.ToJsonString()).Append('\n');
        for (var i = 0; i < entries.Count; i++)
        {
            var line = new JsonObject { ["i"] = i, ["samples"] = new JsonArray([.. entries[i].Samples.Select(s => (JsonNode)s)]) };
            if (key.Greedy) line["greedy"] = entries[i].Greedy ?? throw new ArgumentException($"Entry {i} has no greedy completion.", nameof(entries));
            body.Append(line.ToJsonString()).Append('\n');
        }
        var bytes = Encoding.UTF8.GetBytes(body.ToString());
        var trailer = new JsonObject { ["lines"] = entries.Count, ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes)) }.ToJsonString() + "\n";
        AtomicFile.WriteAllBytes(PathFor(key, questions), [.. bytes, .. Encoding.UTF8.GetBytes(trailer)]);
    }

    private static List<Entry> Read(string path, Key key, IReadOnlyList<QaRecord> questions)
    {
        var bytes = File.ReadAllBytes(path);
        // The trailer is the last line; everything before it is what its checksum covers.
        var end = bytes.Length > 0 && bytes[^1] == (byte)'\n' ? bytes.Length - 1 : throw new InvalidDataException("the file does not end with its trailer line (truncated?)");
        var start = Array.LastIndexOf(bytes, (byte)'\n', end - 1) + 1;
        JsonObject trailer;
        try
        {
            trailer = JsonNode.Parse(bytes.AsSpan(start, end - start))?.AsObject() ?? throw new InvalidDataException("empty trailer");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException("the last line is not the trailer (truncated?)");
        }
        var expectedHash = trailer["sha256"]?.GetValue<string>() ?? throw new InvalidDataException("the trailer has no sha256 (truncated?)");
        if (!string.Equals(Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan(0, start))), expectedHash, StringComparison.Ordinal))
            throw new InvalidDataException("the SHA-256 of its contents does not match its trailer (corrupted or edited)");

        var lines = Encoding.UTF8.GetString(bytes, 0, start).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        try
        {
            var header = JsonNode.Parse(lines[0])!.AsObject();
            if (header["format"]?.GetValue<string>() != Format) throw new InvalidDataException($"format is not {Format}");
            if (!JsonNode.DeepEquals(header["key"], KeyJson(key, questions))) throw new InvalidDataException("its key does not match the requested candidates");
            if (trailer["lines"]?.GetValue<int>() != questions.Count || lines.Length != questions.Count + 1)
                throw new InvalidDataException($"it holds {lines.Length - 1} question lines, expected {questions.Count}");
            var entries = new List<Entry>(questions.Count);
            for (var i = 0; i < questions.Count; i++)
            {
                var line = JsonNode.Parse(lines[i + 1])!.AsObject();
                if (line["i"]?.GetValue<int>() != i) throw new InvalidDataException($"line {i + 2} is not question {i}");
                var samples = line["samples"]!.AsArray().Select(s => s!.GetValue<string>()).ToList();
                if (samples.Count != key.Sampling.K) throw new InvalidDataException($"question {i} has {samples.Count} samples, expected {key.Sampling.K}");
                var greedy = key.Greedy ? line["greedy"]?.GetValue<string>() ?? throw new InvalidDataException($"question {i} has no greedy completion") : null;
                entries.Add(new Entry(samples, greedy));
            }
            return entries;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException)
        {
            throw new InvalidDataException($"a line is malformed ({e.Message})");
        }
    }

    /// <summary>The full key as stored in the header; the questions enter as a digest of their text, options and gold answers.</summary>
    private static JsonObject KeyJson(Key key, IReadOnlyList<QaRecord> questions)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var q in questions)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(q.FormatWithOptions()));
            sha.AppendData([0]);
            sha.AppendData(Encoding.UTF8.GetBytes(q.Answer));
            sha.AppendData([0]);
        }
        var s = key.Sampling;
        return new JsonObject
        {
            ["actor"] = key.Actor, ["dataset"] = key.Dataset, ["split"] = key.Split, ["k"] = s.K, ["temperature"] = s.Temperature,
            ["top_p"] = s.TopP, ["max_tokens"] = s.MaxTokens, ["seed"] = s.Seed, ["prompt"] = key.Prompt, ["greedy"] = key.Greedy,
            ["questions"] = questions.Count, ["questions_sha256"] = Convert.ToHexStringLower(sha.GetHashAndReset()),
        };
    }
}
