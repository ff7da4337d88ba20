namespace Confer.Reasoning.Actors;

/// <summary>Which OpenAI route an <see cref="OpenAiEndpointActor"/> calls.</summary>
public enum OpenAiApi
{
    /// <summary><c>POST {base}/completions</c>: the prompt is sent as it is.</summary>
    Completions,

    /// <summary><c>POST {base}/chat/completions</c>: the prompt is one user message, rendered by the server's chat template.</summary>
    Chat,
}

/// <summary>Where an <see cref="OpenAiEndpointActor"/> sends requests and how patiently.</summary>
public sealed record OpenAiEndpointOptions
{
    /// <summary>The API base as OpenAI clients take it, /v1 included: e.g. <c>http://localhost:8000/v1</c> (vLLM, confer serve), <c>http://localhost:11434/v1</c> (Ollama).</summary>
    public required Uri BaseUrl { get; init; }

    /// <summary>The model name the server serves (the <c>model</c> field of each request).</summary>
    public required string Model { get; init; }

    public OpenAiApi Api { get; init; } = OpenAiApi.Completions;

    /// <summary>Sent as <c>Authorization: Bearer …</c> when set.</summary>
    public string? ApiKey { get; init; }

    /// <summary>How long one attempt may take (connect, generate, read the answer) before it counts as failed.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Attempts per request; 429, 5xx, timeouts and connection failures are retried, other answers are not.</summary>
    public int MaxAttempts { get; init; } = 4;

    /// <summary>Wait before the first retry; each further retry waits twice as long (with jitter), up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait between attempts, a server's Retry-After included.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Requests in flight at once from this actor, across all callers.</summary>
    public int MaxConcurrency { get; init; } = 4;

    /// <summary>
    /// For servers that ignore <c>n</c> (llama.cpp's server, Ollama): ask for one choice per request, sample i seeded
    /// <c>CompletionGenerator.ChoiceSeed(seed, i)</c> — on <c>confer serve</c> exactly the samples of one request with n = N.
    /// </summary>
    public bool OneChoicePerRequest { get; init; }

    /// <summary>Largest answer body read; a bigger one is refused as malformed.</summary>
    public int MaxResponseBytes { get; init; } = 16 << 20;

    public void Validate()
    {
        if (!BaseUrl.IsAbsoluteUri || BaseUrl.Scheme is not ("http" or "https"))
            throw new ArgumentException($"BaseUrl '{BaseUrl}' must be an absolute http(s) URL such as http://localhost:8000/v1.", nameof(BaseUrl));
        ArgumentException.ThrowIfNullOrWhiteSpace(Model);
        if (Timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Timeout), Timeout, "Timeout must be positive.");
        if (MaxAttempts < 1) throw new ArgumentOutOfRangeException(nameof(MaxAttempts), MaxAttempts, "MaxAttempts must be ≥ 1.");
        if (InitialBackoff < TimeSpan.Zero || MaxBackoff < InitialBackoff)
            throw new ArgumentOutOfRangeException(nameof(MaxBackoff), MaxBackoff, "Need 0 ≤ InitialBackoff ≤ MaxBackoff.");
        if (MaxConcurrency < 1) throw new ArgumentOutOfRangeException(nameof(MaxConcurrency), MaxConcurrency, "MaxConcurrency must be ≥ 1.");
        if (MaxResponseBytes < 1) throw new ArgumentOutOfRangeException(nameof(MaxResponseBytes), MaxResponseBytes, "MaxResponseBytes must be ≥ 1.");
    }
}
