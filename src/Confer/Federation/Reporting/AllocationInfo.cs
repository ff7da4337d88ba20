using System.Globalization;
using System.Text.Json;

namespace Confer.Federation.Reporting;

/// <summary>
/// <c>allocation.json</c>: how the data was split across clients. Client ids may be written as strings
/// (<c>"client_3"</c>) or, as <c>AllocationReport</c> writes them, as client indices (<c>3</c>), which the simulation
/// names <c>client_3</c>.
/// </summary>
internal sealed record AllocationInfo(string? Method, long? Seed, IReadOnlyList<ClientAllocation> Clients)
{
    public const string FileName = "allocation.json";

    /// <summary>The allocation, or null when the run folder has none (it is optional).</summary>
    public static AllocationInfo? Read(string runFolder)
    {
        var path = Path.Combine(runFolder, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            ReportJson.Require(root, "clients", path);
            var clients = root.GetProperty("clients").EnumerateArray().Select((c, i) => Client(c, $"{path} clients[{i}]")).ToList();
            return new AllocationInfo(
                root.TryGetProperty("method", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null,
                root.TryGetProperty("seed", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt64() : null,
                clients);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: unexpected content ({ex.Message}). Expected {{\"clients\": [{{\"client\", \"size\", \"categories\"}}]}}.", ex);
        }
    }

    /// <summary>What <c>max_client_records</c> left out, or null when it capped no client.</summary>
    public string? CapNote()
    {
        var capped = Clients.Where(c => c.CappedFrom is not null).ToList();
        if (capped.Count == 0) return null;
        var before = capped.Sum(c => (long)c.CappedFrom!.Value);
        return $"max_client_records capped {capped.Count} of {Clients.Count} clients: they train on {capped.Sum(c => (long)c.Size)} of their {before} " +
               $"records (each capped client's capped_from is in {FileName}).";
    }

    private static ClientAllocation Client(JsonElement c, string where)
    {
        ReportJson.Require(c, "client", where);
        var id = c.GetProperty("client");
        var client = id.ValueKind == JsonValueKind.Number ? "client_" + id.GetInt32().ToString(CultureInfo.InvariantCulture) : id.GetString()!;
        var categories = new Dictionary<string, int>(StringComparer.Ordinal);
        if (c.TryGetProperty("categories", out var cats) && cats.ValueKind == JsonValueKind.Object)
            foreach (var cat in cats.EnumerateObject())
                categories[cat.Name] = cat.Value.GetInt32();
        var size = c.TryGetProperty("size", out var sz) && sz.ValueKind == JsonValueKind.Number ? sz.GetInt32() : categories.Values.Sum();
        int? cappedFrom = c.TryGetProperty("capped_from", out var cf) && cf.ValueKind == JsonValueKind.Number ? cf.GetInt32() : null;
        return new ClientAllocation(client, size, categories, cappedFrom);
    }
}
