using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Confer.Serving;
using Confer.Tests.Generation;

namespace Confer.Tests.Serving;

/// <summary>A real <c>confer serve</c> server (Kestrel on a free port of 127.0.0.1) over models/confer-base, with a bearer key.</summary>
public sealed class ServeFixture : IAsyncLifetime
{
    public const string Key = "test-key-123";
    public const string ModelName = "confer-base";

    private ServedModel? _model;
    private OpenAiServer? _server;

    public static string ModelFolder => CompletionGeneratorTests.ModelFolder;

    /// <summary>The API base, e.g. http://127.0.0.1:41234/v1.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        (_model, _server) = await StartAsync(new ServeSettings { Model = ModelFolder, Port = 0, ApiKey = Key, LogRequests = false });
        BaseUrl = new Uri(_server.Url, "v1");
    }

    public static async Task<(ServedModel Model, OpenAiServer Server)> StartAsync(ServeSettings settings)
    {
        var model = ServedModel.Load(settings);
        return (model, await OpenAiServer.StartAsync(model, settings, CancellationToken.None));
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        _model?.Dispose();
    }

    /// <summary>An HTTP client with the key set.</summary>
    public static HttpClient Client(string? key = Key)
    {
        var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        if (key is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    public async Task<(HttpStatusCode Status, JsonObject Body)> PostAsync(string route, string json, string? key = Key)
    {
        using var http = Client(key);
        using var response = await http.PostAsync(BaseUrl + route, new StringContent(json, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!.AsObject());
    }

    /// <summary>The <c>data:</c> payloads of a streamed answer, in order ("[DONE]" included), and the content type.</summary>
    public async Task<(string? ContentType, List<string> Events)> StreamAsync(string route, string json)
    {
        using var http = Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, BaseUrl + route) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (response.Content.Headers.ContentType?.MediaType, await ReadEventsAsync(response));
    }

    public static async Task<List<string>> ReadEventsAsync(HttpResponseMessage response)
    {
        var events = new List<string>();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken));
        while (await reader.ReadLineAsync(TestContext.Current.CancellationToken) is { } line)
        {
            if (line.Length == 0) continue;
            Assert.StartsWith("data: ", line);
            events.Add(line["data: ".Length..]);
        }
        return events;
    }
}
