using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Confer.Tests.Reasoning;

/// <summary>
/// A real HTTP server (Kestrel on a free port) that answers <c>/v1/completions</c> and <c>/v1/chat/completions</c>
/// however a test scripts it — errors, garbage, silence — and records what arrived and when, to test how the
/// endpoint actor copes with a misbehaving OpenAI-compatible server.
/// </summary>
internal sealed class FakeOpenAiEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _max = new();
    private int _inFlight;

    private FakeOpenAiEndpoint(Func<HttpContext, int, Task> answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.MapPost("/v1/{**route}", async (HttpContext http) =>
        {
            var attempt = Requests.Count + 1;
            var body = JsonNode.Parse(await new StreamReader(http.Request.Body).ReadToEndAsync())!.AsObject();
            Requests.Enqueue((DateTime.UtcNow, http.Request.Path, body, http.Request.Headers.Authorization.ToString()));
            var now = Interlocked.Increment(ref _inFlight);
            lock (_max) MaxInFlight = Math.Max(MaxInFlight, now);
            try
            {
                await answer(http, attempt);
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        });
    }

    /// <summary>What arrived, in order: time, path, JSON body, Authorization header.</summary>
    public ConcurrentQueue<(DateTime At, string Path, JsonObject Body, string Authorization)> Requests { get; } = new();

    /// <summary>Most requests the server was answering at once.</summary>
    public int MaxInFlight { get; private set; }

    public Uri BaseUrl { get; private set; } = null!;

    /// <param name="answer">Writes the answer to the n-th request (1-based).</param>
    public static async Task<FakeOpenAiEndpoint> StartAsync(Func<HttpContext, int, Task> answer)
    {
        var fake = new FakeOpenAiEndpoint(answer);
        await fake._app.StartAsync();
        var address = fake._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fake.BaseUrl = new Uri(address.TrimEnd('/') + "/v1");
        return fake;
    }

    /// <summary>An OpenAI completion with <paramref name="n"/> choices "answer i", listed in reverse index order.</summary>
    public static Task Completions(HttpContext http, int n)
    {
        var choices = new JsonArray([.. Enumerable.Range(0, n).Reverse().Select(i => (JsonNode)new JsonObject { ["index"] = i, ["text"] = $"answer {i}", ["finish_reason"] = "stop" })]);
        return Json(http, 200, new JsonObject { ["object"] = "text_completion", ["choices"] = choices }.ToJsonString());
    }

    public static async Task Json(HttpContext http, int status, string body)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(body);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
