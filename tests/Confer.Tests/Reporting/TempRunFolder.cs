using System.Text.Json;

namespace Confer.Tests.Reporting;

/// <summary>A run folder in a temp directory, written the way the simulation engine writes one; deleted on dispose.</summary>
internal sealed class TempRunFolder : IDisposable
{
    public TempRunFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"confer-run-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public TempRunFolder Run(int rounds, int clients, bool finished = true)
    {
        System.IO.File.WriteAllText(File("run.json"), JsonSerializer.Serialize(new
        {
            name = "dolly-fedit", strategy = "fedavg", seed = 42, rounds, clients, threads = 2,
            started = "2025-03-01T10:00:00.0000000Z", finished = finished ? "2025-03-01T10:07:30.5000000Z" : null,
        }));
        return this;
    }

    public TempRunFolder Metric(object line)
    {
        System.IO.File.AppendAllText(File("metrics.jsonl"), JsonSerializer.Serialize(line) + "\n");
        return this;
    }

    /// <summary>Round 0 (the starting model) then <paramref name="losses"/>.Length training rounds, each moving fixed byte counts.</summary>
    public TempRunFolder Rounds(IReadOnlyList<string> clients, params double[] losses)
    {
        Metric(new { kind = "round", round = 0, global_loss = 2.9, global_perplexity = Math.Exp(2.9), train_loss = (double?)null,
            clients = Array.Empty<string>(), dropped = Array.Empty<string>(), examples = 0, bytes_up = 0, bytes_down = 0, params_up = 0, params_down = 0, seconds = 4.0 });
        for (var r = 1; r <= losses.Length; r++)
            Metric(new { kind = "round", round = r, global_loss = losses[r - 1], global_perplexity = Math.Exp(losses[r - 1]), train_loss = losses[r - 1] + 0.2,
                clients, dropped = Array.Empty<string>(), examples = 1200, bytes_up = 1_234_567, bytes_down = 2_345_678, params_up = 308_641, params_down = 586_419, seconds = 12.3 });
        return this;
    }

    public TempRunFolder Baselines(IReadOnlyList<string> clients, double centralized)
    {
        for (var i = 0; i < clients.Count; i++)
            Metric(new { kind = "baseline", name = "local", client = clients[i], global_loss = 2.6 + 0.05 * i, local_loss = 2.4 + 0.05 * i });
        return Metric(new { kind = "baseline", name = "centralized", global_loss = centralized });
    }

    public TempRunFolder ClientEvals(int round, IReadOnlyList<string> clients)
    {
        for (var i = 0; i < clients.Count; i++)
            Metric(new { kind = "client_eval", round, client = clients[i], local_loss = 2.2 + 0.01 * i, local_examples = 40 + i });
        return this;
    }

    public TempRunFolder Allocation(IReadOnlyList<string> clients)
    {
        var shares = clients.Select((c, i) => new Dictionary<string, object>
        {
            ["client"] = c, ["size"] = 1493 + i,
            ["categories"] = new Dictionary<string, int> { ["open_qa"] = 700 + i, ["brainstorming"] = 793 - 10 * i, ["summarization"] = 10 * i },
        });
        System.IO.File.WriteAllText(File("allocation.json"), JsonSerializer.Serialize(new { method = "dirichlet", seed = 42, clients = shares }));
        return this;
    }

    public TempRunFolder Traffic(int rounds, IReadOnlyList<string> clients)
    {
        var rows = from r in Enumerable.Range(1, rounds) from c in clients select $"{r},{c},195473,781892,102880,411522";
        System.IO.File.WriteAllText(File("traffic.csv"), "round,client,params_down,bytes_down,params_up,bytes_up\n" + string.Join("\n", rows) + "\n");
        return this;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { /* best effort: temp files */ }
    }
}
