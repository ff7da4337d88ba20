using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confer.Training.Generation;

namespace Confer.Reasoning.Actors;

/// <summary>
/// Any OpenAI-compatible server as the actor — vLLM, llama.cpp, Ollama, <c>confer serve</c> — through
/// <c>/v1/completions</c> or <c>/v1/chat/completions</c> with <c>n</c>, <c>temperature</c>, <c>top_p</c>,
/// <c>max_tokens</c>, <c>stop</c> and <c>seed</c>. Each attempt has a timeout; 408, 409, 429, 5xx, timeouts and
/// connection failures are retried with exponential back-off (with jitter, at least the server's Retry-After); at most
/// <see cref="OpenAiEndpointOptions.MaxConcurrency"/> requests are in flight. Whatever fails for good is an
/// <see cref="ActorEndpointException"/> with one line naming the URL and the problem.
/// </summary>
public sealed class OpenAiEndpointActor : IReasoningActor, IDisposable
{
    private const int SnippetChars = 160;

    private readonly OpenAiEndpointOptions _options;
    private readonly Uri _url;
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _slots;

    public OpenAiEndpointActor(OpenAiEndpointOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        var route = options.Api == OpenAiApi.Chat ? "chat/completions" : "completions";
        _url = new Uri(options.BaseUrl.ToString().TrimEnd('/') + "/" + route);
        // Per-attempt timeouts come from a token, so the client itself never times out on its own.
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) }) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        _slots = new SemaphoreSlim(options.MaxConcurrency, options.MaxConcurrency);
    }

    public string Name => $"openai:{_url}?model={_options.Model}";

    /// <summary>The URL requests go to.</summary>
    public Uri Url => _url;

    public async Task<IReadOnlyList<string>> SampleAsync(string prompt, ActorSampling sampling, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        SamplingOptions.From(sampling);
        if (!_options.OneChoicePerRequest) return await RequestAsync(prompt, sampling.N, sampling.Seed, sampling, ct).ConfigureAwait(false);
        var each = await Task.WhenAll(Enumerable.Range(0, sampling.N)
            .Select(i => RequestAsync(prompt, 1, CompletionGenerator.ChoiceSeed(sampling.Seed, i), sampling, ct))).ConfigureAwait(false);
        return [.. each.Select(e => e[0])];
    }

    public void Dispose()
    {
        _http.Dispose();
        _slots.Dispose();
    }

    private async Task<IReadOnlyList<string>> RequestAsync(string prompt, int n, long seed, ActorSampling sampling, CancellationToken ct)
    {
        var body = Body(prompt, n, seed, sampling);
        for (var attempt = 1; ; attempt++)
        {
            Failure failure;
            await _slots.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(_options.Timeout);
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, _url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                    if (_options.ApiKey is { Length: > 0 } key) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                    using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                    var answer = await ReadAsync(response.Content, timeout.Token).ConfigureAwait(false);
                    if (response.IsSuccessStatusCode) return Choices(answer, n);
                    failure = StatusFailure(response, answer);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    failure = new Failure($"no answer within {_options.Timeout.TotalSeconds:0.###} s", Retry: true);
                }
                catch (HttpRequestException e)
                {
                    failure = new Failure($"unreachable ({OneLine(e.InnerException?.Message ?? e.Message)})", Retry: true);
                }
                catch (IOException e) when (e is not ActorEndpointException)
                {
                    failure = new Failure($"the connection failed mid-answer ({OneLine(e.Message)})", Retry: true);
                }
            }
            finally
            {
                _slots.Release();
            }
            if (!failure.Retry) throw Error(failure.What);
            if (attempt >= _options.MaxAttempts) throw Error($"{failure.What}; gave up after {attempt} attempt{(attempt == 1 ? "" : "s")}");
            await Task.Delay(Backoff(attempt, failure.RetryAfter), ct).ConfigureAwait(false);
        }
    }

    private string Body(string prompt, int n, long seed, ActorSampling s)
    {
        var body = new JsonObject { ["model"] = _options.Model };
        if (_options.Api == OpenAiApi.Chat) body["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt });
        else body["prompt"] = prompt;
        body["n"] = n;
        body["temperature"] = s.Temperature;
        body["top_p"] = s.TopP;
        body["max_tokens"] = s.MaxTokens;
        body["seed"] = seed;
        if (s.Stop.Count > 0) body["stop"] = new JsonArray([.. s.Stop.Select(x => (JsonNode)x)]);
        return body.ToJsonString();
    }

    /// <summary>The choices' texts in index order, or an error saying how the answer is not OpenAI's.</summary>
    private IReadOnlyList<string> Choices(byte[] answer, int n)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(answer);
        }
        catch (JsonException e)
        {
            throw Error($"answered malformed JSON ({OneLine(e.Message)}): {Snippet(answer)}");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array)
                throw Error($"answered JSON without a 'choices' list: {Snippet(answer)}");
            if (choices.GetArrayLength() != n)
                throw Error($"answered {choices.GetArrayLength()} choices for n = {n}" +
                    (n > 1 && !_options.OneChoicePerRequest ? "; if the server ignores n (llama.cpp, Ollama), ask for one choice per request" : ""));
            var texts = new string?[n];
            var position = 0;
            foreach (var choice in choices.EnumerateArray())
            {
                var at = position++;
                if (choice.ValueKind == JsonValueKind.Object && choice.TryGetProperty("index", out var index))
                    at = index.ValueKind == JsonValueKind.Number && index.TryGetInt32(out var i) && i >= 0 && i < n
                        ? i
                        : throw Error($"answered a choice with index {index.GetRawText()}, not one of 0..{n - 1}");
                if (texts[at] is not null) throw Error($"answered choice index {at} twice");
                texts[at] = Text(choice) ?? throw Error($"answered a choice without {(_options.Api == OpenAiApi.Chat ? "message.content" : "text")}: {Snippet(answer)}");
            }
            return [.. texts.Select(t => t!)];
        }
    }

    private string? Text(JsonElement choice)
    {
        if (choice.ValueKind != JsonValueKind.Object) return null;
        if (_options.Api == OpenAiApi.Completions)
            return choice.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String ? text.GetString() : null;
        return choice.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object &&
               message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String
            ? content.GetString()
            : null;
    }

    /// <summary>A non-2xx answer: retried when the server may do better later (as the OpenAI client retries), else final.</summary>
    private static Failure StatusFailure(HttpResponseMessage response, byte[] answer)
    {
        var code = (int)response.StatusCode;
        var what = $"answered {code} {response.ReasonPhrase}: {ErrorMessage(answer)}";
        if (response.StatusCode == HttpStatusCode.NotFound) what += " (the base URL should end in /v1, e.g. http://localhost:8000/v1)";
        var retry = code is 408 or 409 or 429 || code >= 500;
        var retryAfter = response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - DateTimeOffset.UtcNow,
            _ => (TimeSpan?)null,
        };
        return new Failure(what, retry, retryAfter);
    }

    /// <summary>OpenAI's error.message when the body has one, else the start of the body.</summary>
    private static string ErrorMessage(byte[] answer)
    {
        try
        {
            using var doc = JsonDocument.Parse(answer);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("error", out var error))
            {
                if (error.ValueKind == JsonValueKind.String) return OneLine(error.GetString()!);
                if (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String)
                    return OneLine(m.GetString()!);
            }
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's HTML page): show its start instead.
        }
        return Snippet(answer);
    }

    private TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        // Exponential with jitter in [½, 1] of the step, so callers that failed together do not retry together.
        var step = _options.InitialBackoff.TotalMilliseconds * Math.Pow(2, attempt - 1);
        var wait = TimeSpan.FromMilliseconds(step * (0.5 + 0.5 * Random.Shared.NextDouble()));
        if (retryAfter is { } server && server > wait) wait = server;
        return wait > _options.MaxBackoff ? _options.MaxBackoff : wait;
    }

    private async Task<byte[]> ReadAsync(HttpContent content, CancellationToken ct)
    {
        await using var stream = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > _options.MaxResponseBytes) throw Error($"answered more than {_options.MaxResponseBytes >> 20} MiB; that is no completion");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private ActorEndpointException Error(string what) => new($"OpenAI endpoint {_url}: {what}.");

    private static string Snippet(byte[] answer)
    {
        if (answer.Length == 0) return "an empty body";
        var text = Encoding.UTF8.GetString(answer, 0, Math.Min(answer.Length, SnippetChars * 4));
        text = OneLine(text);
        return text.Length > SnippetChars ? $"'{text[..SnippetChars]}…'" : $"'{text}'";
    }

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim().TrimEnd('.');

    private sealed record Failure(string What, bool Retry, TimeSpan? RetryAfter = null);
}
