using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Confer.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Confer.Serving;

/// <summary>
/// <c>confer serve</c>: one model behind OpenAI's HTTP API on Kestrel — <c>POST /v1/completions</c>,
/// <c>POST /v1/chat/completions</c> (whole answers or server-sent events), <c>GET /v1/models</c>, and
/// <c>GET /health</c> — so any OpenAI client, and Confer's own endpoint actor, can use a Confer model. Requests take
/// turns on the model (<see cref="GenerationGate"/>); a bad one gets 400 with OpenAI's error body and never reaches it.
/// </summary>
public sealed class OpenAiServer : IAsyncDisposable
{
    /// <summary>Largest request body: a prompt longer than any context still fits; a body beyond is answered 413.</summary>
    public const int MaxBodyBytes = 4 << 20;

    private static readonly JsonDocumentOptions JsonLimits = new() { MaxDepth = 32 };

    private readonly ServedModel _model;
    private readonly ServeSettings _settings;
    private readonly GenerationGate _gate;
    private readonly long _started = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private readonly WebApplication _app;
    private readonly ILogger _log;

    private OpenAiServer(ServedModel model, ServeSettings settings)
    {
        _model = model;
        _settings = settings;
        _gate = new GenerationGate(settings.MaxQueue);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (settings.LogRequests) builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        // Kestrel reports a failed bind with a stack trace; StartAsync says it in one line instead.
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("Microsoft.AspNetCore.Server.Kestrel", LogLevel.None)
            .AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = MaxBodyBytes;
            k.Listen(settings.Endpoint(), o => o.Protocols = HttpProtocols.Http1);
        });
        _app = builder.Build();
        _log = _app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Confer.Serve");
        _app.Use(Authorize);
        _app.MapGet("/health", () => Results.Text("""{"status":"ok"}""", "application/json"));
        _app.MapGet("/v1/models", () => Json(new JsonObject { ["object"] = "list", ["data"] = new JsonArray(OpenAiJson.Model(_model.Name, _started)) }));
        _app.MapGet("/v1/models/{id}", (string id) => id == _model.Name
            ? Json(OpenAiJson.Model(_model.Name, _started))
            : Error(new OpenAiException(404, $"The model '{id}' does not exist; this server serves '{_model.Name}'.", "invalid_request_error", "model", "model_not_found")));
        _app.MapPost("/v1/completions", (HttpContext http) => CompleteAsync(http, chat: false));
        _app.MapPost("/v1/chat/completions", (HttpContext http) => CompleteAsync(http, chat: true));
        _app.MapFallback((HttpContext http) => Error(new OpenAiException(404,
            $"Unknown endpoint {http.Request.Method} {http.Request.Path}: this server answers POST /v1/completions, POST /v1/chat/completions and GET /v1/models.",
            "invalid_request_error", code: "unknown_url")));
    }

    /// <summary>The base URL clients use (the API is under <c>/v1</c>).</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>Starts listening; the model must stay alive until the server is disposed.</summary>
    public static async Task<OpenAiServer> StartAsync(ServedModel model, ServeSettings settings, CancellationToken ct)
    {
        settings.Validate();
        var server = new OpenAiServer(model, settings);
        try
        {
            await server._app.StartAsync(ct).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw new ConfigException($"cannot listen on {settings.Host}:{settings.Port} ({e.Message.TrimEnd('.')}); choose another --port or stop the process that holds it.");
        }
        var bound = new Uri(server._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        var endpoint = settings.Endpoint();
        var host = endpoint.Address.Equals(IPAddress.Any) || endpoint.Address.Equals(IPAddress.IPv6Any) ? "localhost" : bound.Host;
        server.Url = new UriBuilder("http", host, bound.Port).Uri;
        return server;
    }

    /// <summary>Serves until <paramref name="ct"/> is cancelled (Ctrl+C).</summary>
    public async Task RunUntilCancelledAsync(CancellationToken ct)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Ctrl+C: the normal way to stop a server.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }

    /// <summary>Every <c>/v1</c> route needs the bearer key when one is set (compared in constant time); <c>/health</c> is open.</summary>
    private async Task Authorize(HttpContext http, RequestDelegate next)
    {
        if (_settings.ApiKey.Length > 0 && http.Request.Path.StartsWithSegments("/v1") && !HasKey(http.Request))
        {
            await WriteError(http, new OpenAiException(401,
                "Incorrect or missing API key: send 'Authorization: Bearer <key>' with the key this server was started with (--api-key).",
                "invalid_request_error", code: "invalid_api_key")).ConfigureAwait(false);
            return;
        }
        await next(http).ConfigureAwait(false);
    }

    private bool HasKey(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string bearer = "Bearer ";
        return header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) &&
               CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[bearer.Length..].Trim()), Encoding.UTF8.GetBytes(_settings.ApiKey));
    }

    private async Task CompleteAsync(HttpContext http, bool chat)
    {
        var clock = Stopwatch.StartNew();
        var ct = http.RequestAborted;
        try
        {
            using var body = await ReadBodyAsync(http.Request, ct).ConfigureAwait(false);
            var request = chat
                ? CompletionRequest.ReadChat(body.RootElement, _model, _settings)
                : CompletionRequest.ReadCompletions(body.RootElement, _model, _settings);
            var header = ResponseHeader.For(chat, _model.Name);
            var tokens = request.Stream
                ? await StreamAsync(http, request, header, ct).ConfigureAwait(false)
                : await AnswerAsync(http, request, header, ct).ConfigureAwait(false);
            LogRequest(http, request, tokens, clock);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            if (_settings.LogRequests) _log.LogInformation("{Method} {Path}: the client left after {Seconds:F2} s; generation stopped", http.Request.Method, http.Request.Path, clock.Elapsed.TotalSeconds);
        }
        catch (OpenAiException e)
        {
            if (_settings.LogRequests) _log.LogInformation("{Method} {Path} {Status}: {Message}", http.Request.Method, http.Request.Path, e.Status, e.Message);
            await WriteError(http, e).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _log.LogError(e, "{Method} {Path} failed", http.Request.Method, http.Request.Path);
            await WriteError(http, new OpenAiException(500, $"The server failed to generate: {e.Message}", "server_error")).ConfigureAwait(false);
        }
    }

    private async Task<int> AnswerAsync(HttpContext http, CompletionRequest request, ResponseHeader header, CancellationToken ct)
    {
        var choices = await _gate.RunAsync(() => _model.Generator.Generate(request.Prompts, request.N, request.Options, ct: ct), ct).ConfigureAwait(false);
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(OpenAiJson.Text(OpenAiJson.Response(header, choices, request.PromptTokens)), ct).ConfigureAwait(false);
        return choices.Sum(c => c.Tokens);
    }

    /// <summary>
    /// Server-sent events: one <c>data:</c> line per piece of text as it becomes final, a chunk with each choice's
    /// finish_reason, the usage chunk when asked, then <c>data: [DONE]</c>. The status line goes out with the first
    /// event, so a request refused before generation starts (busy: 429) still gets a plain error response.
    /// </summary>
    private async Task<int> StreamAsync(HttpContext http, CompletionRequest request, ResponseHeader header, CancellationToken ct)
    {
        var pieces = Channel.CreateUnbounded<(int Choice, string Text)>(new UnboundedChannelOptions { SingleReader = true });
        var generation = _gate.RunAsync(() => _model.Generator.Generate(request.Prompts, request.N, request.Options,
            (choice, text) => pieces.Writer.TryWrite((choice, text)), ct), ct);
        _ = generation.ContinueWith(_ => pieces.Writer.TryComplete(), TaskScheduler.Default);
        var started = false;
        async Task Start()
        {
            if (started) return;
            started = true;
            http.Response.ContentType = "text/event-stream";
            http.Response.Headers.CacheControl = "no-cache";
            if (!header.Chat) return;
            for (var i = 0; i < request.Prompts.Count * request.N; i++) await Send(http, OpenAiJson.RoleChunk(header, i), ct).ConfigureAwait(false);
        }
        try
        {
            await foreach (var (choice, text) in pieces.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                await Start().ConfigureAwait(false);
                await Send(http, OpenAiJson.Chunk(header, choice, text, finish: null), ct).ConfigureAwait(false);
            }
            var choices = await generation.ConfigureAwait(false);
            await Start().ConfigureAwait(false);
            for (var i = 0; i < choices.Count; i++)
                await Send(http, OpenAiJson.Chunk(header, i, "", OpenAiJson.FinishReason(choices[i].Finish)), ct).ConfigureAwait(false);
            var completionTokens = choices.Sum(c => c.Tokens);
            if (request.IncludeUsage) await Send(http, OpenAiJson.UsageChunk(header, request.PromptTokens, completionTokens), ct).ConfigureAwait(false);
            await http.Response.WriteAsync("data: [DONE]\n\n", ct).ConfigureAwait(false);
            return completionTokens;
        }
        catch (OpenAiException e) when (started)
        {
            // The status line is gone; OpenAI-compatible servers report a late failure as an error event.
            await SendError(http, e, ct).ConfigureAwait(false);
            throw;
        }
        catch (Exception e) when (started && e is not OperationCanceledException)
        {
            await SendError(http, new OpenAiException(500, $"The server failed to generate: {e.Message}", "server_error"), ct).ConfigureAwait(false);
            throw;
        }
        finally
        {
            // A client that leaves mid-stream cancels generation through ct; wait for the model to be released.
            await generation.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }
    }

    private static async Task Send(HttpContext http, JsonObject chunk, CancellationToken ct)
    {
        await http.Response.WriteAsync($"data: {OpenAiJson.Text(chunk)}\n\n", ct).ConfigureAwait(false);
        await http.Response.Body.FlushAsync(ct).ConfigureAwait(false);
    }

    private static async Task SendError(HttpContext http, OpenAiException e, CancellationToken ct)
    {
        await http.Response.WriteAsync($"data: {OpenAiJson.Text(e.ToJson())}\n\n", ct).ConfigureAwait(false);
        await http.Response.Body.FlushAsync(ct).ConfigureAwait(false);
    }

    private static async Task<JsonDocument> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        try
        {
            return await JsonDocument.ParseAsync(request.Body, JsonLimits, ct).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw OpenAiException.BadRequest($"We could not parse the JSON body of your request ({e.Message}). Send a JSON object with Content-Type: application/json.");
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new OpenAiException(413, $"The request body is larger than this server's limit of {MaxBodyBytes >> 20} MiB.", "invalid_request_error");
        }
    }

    private void LogRequest(HttpContext http, CompletionRequest request, int completionTokens, Stopwatch clock)
    {
        if (!_settings.LogRequests) return;
        _log.LogInformation("{Method} {Path} 200: {Prompts} prompt(s) × n={N}{Stream}, {PromptTokens} prompt + {CompletionTokens} completion tokens, {Seconds:F2} s",
            http.Request.Method, http.Request.Path, request.Prompts.Count, request.N, request.Stream ? " streamed" : "", request.PromptTokens, completionTokens,
            clock.Elapsed.TotalSeconds);
    }

    private static async Task WriteError(HttpContext http, OpenAiException e)
    {
        if (http.Response.HasStarted) return;
        http.Response.StatusCode = e.Status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(OpenAiJson.Text(e.ToJson())).ConfigureAwait(false);
    }

    private static IResult Json(JsonObject body) => Results.Text(OpenAiJson.Text(body), "application/json");

    private static IResult Error(OpenAiException e) => Results.Text(OpenAiJson.Text(e.ToJson()), "application/json", statusCode: e.Status);
}
