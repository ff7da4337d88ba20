using Confer.Configuration;

namespace Confer.Compression;

/// <summary>
/// Which chain each client's messages use: the run's <c>uplink_codec</c> and <c>downlink_codec</c>, overridden for
/// named clients by <c>uplink_codec_by_client</c> / <c>downlink_codec_by_client</c> (entries <c>client_id=chain</c>,
/// e.g. a site on a fast link that sends <c>identity</c> while the others send <c>topk:0.1 &gt; int8 &gt; zstd</c>).
/// The server and every client build the same plan from the same run settings.
/// </summary>
public sealed class CodecPlan
{
    private readonly Dictionary<string, CodecChain> _uplinks;
    private readonly Dictionary<string, CodecChain> _downlinks;

    public CodecPlan(string uplink, string downlink, IEnumerable<string> uplinkByClient, IEnumerable<string> downlinkByClient)
    {
        DefaultUplink = CodecChain.Parse(uplink, "uplink_codec");
        DefaultDownlink = CodecChain.Parse(downlink, "downlink_codec");
        _uplinks = Overrides(uplinkByClient, "uplink_codec_by_client");
        _downlinks = Overrides(downlinkByClient, "downlink_codec_by_client");
    }

    public CodecChain DefaultUplink { get; }

    public CodecChain DefaultDownlink { get; }

    /// <summary>The clients that have a chain of their own in either direction.</summary>
    public IReadOnlyCollection<string> OverriddenClients => [.. _uplinks.Keys.Union(_downlinks.Keys).Order(StringComparer.Ordinal)];

    public CodecChain Uplink(string clientId) => _uplinks.GetValueOrDefault(clientId) ?? DefaultUplink;

    public CodecChain Downlink(string clientId) => _downlinks.GetValueOrDefault(clientId) ?? DefaultDownlink;

    /// <summary>Refuses an override for a client that is not in the run (a typo would silently leave that site on the default).</summary>
    public void CheckClients(IReadOnlyCollection<string> clientIds, string where)
    {
        var unknown = OverriddenClients.Where(id => !clientIds.Contains(id)).ToList();
        if (unknown.Count > 0)
            throw new ConfigException($"uplink_codec_by_client/downlink_codec_by_client: no client '{unknown[0]}' in {where} " +
                                      $"(clients: {string.Join(", ", clientIds.Take(12))}{(clientIds.Count > 12 ? ", …" : "")}).");
    }

    public override string ToString()
    {
        var text = DefaultUplink.Id == DefaultDownlink.Id ? DefaultUplink.Id : $"up {DefaultUplink.Id}, down {DefaultDownlink.Id}";
        return OverriddenClients.Count == 0 ? text : $"{text}; own chains for {string.Join(", ", OverriddenClients)}";
    }

    private static Dictionary<string, CodecChain> Overrides(IEnumerable<string> entries, string key)
    {
        var map = new Dictionary<string, CodecChain>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var eq = entry.IndexOf('=');
            var client = eq > 0 ? entry[..eq].Trim() : "";
            if (client.Length == 0 || eq == entry.Length - 1)
                throw new ConfigException($"{key}: '{entry}' must be client_id=chain, e.g. client_3=fp16.");
            if (!map.TryAdd(client, CodecChain.Parse(entry[(eq + 1)..].Trim(), $"{key} ({client})")))
                throw new ConfigException($"{key}: client '{client}' is named twice.");
        }
        return map;
    }
}
