using System.Text.Json;
using System.Text.Json.Nodes;
using Confer.Runtime;

namespace Confer.Federation.Deployment;

/// <summary>
/// <c>&lt;state&gt;/endpoint.json</c>: the URL a running server actually listens on, written once Kestrel is bound, so
/// that scripts, tests and benches can find a server started on port 0.
/// </summary>
internal static class ServerEndpoint
{
    public const string FileName = "endpoint.json";

    public static string PathIn(string stateFolder) => Path.Combine(stateFolder, FileName);

    public static void Write(string stateFolder, string url, int port) =>
        AtomicFile.WriteAllText(PathIn(stateFolder), new JsonObject { ["url"] = url, ["port"] = port }.ToJsonString());

    /// <summary>The URL the server in <paramref name="stateFolder"/> wrote, or null while it has not (yet).</summary>
    public static Uri? TryRead(string stateFolder)
    {
        var path = PathIn(stateFolder);
        if (!File.Exists(path)) return null;
        try
        {
            return new Uri(JsonNode.Parse(File.ReadAllText(path))!["url"]!.GetValue<string>());
        }
        catch (Exception e) when (e is JsonException or NullReferenceException or UriFormatException)
        {
            throw new InvalidDataException($"{path} is not an endpoint file written by `confer server` ({e.Message}).", e);
        }
    }
}
