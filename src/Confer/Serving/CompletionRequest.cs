using System.Text.Json;
using Confer.Training.Generation;

namespace Confer.Serving;

/// <summary>
/// A validated <c>/v1/completions</c> or <c>/v1/chat/completions</c> request, tokenised: what to generate and how to
/// answer. Every OpenAI field is either applied exactly, accepted only at its neutral value, or refused with 400.
/// </summary>
/// <param name="Chat">Answer in chat.completion form.</param>
/// <param name="Prompts">Token ids of each prompt (a chat request has one).</param>
/// <param name="N">Choices per prompt.</param>
/// <param name="Options">Decoding settings (seed, temperature, top_p, top_k, max_tokens, stop).</param>
/// <param name="Stream">Answer with server-sent events.</param>
/// <param name="IncludeUsage">Streaming only: end with a chunk carrying usage.</param>
internal sealed record CompletionRequest(bool Chat, IReadOnlyList<IReadOnlyList<int>> Prompts, int N, GenerationOptions Options, bool Stream, bool IncludeUsage)
{
    /// <summary>OpenAI's default max_tokens for /v1/completions.</summary>
    public const int CompletionsDefaultMaxTokens = 16;

    /// <summary>OpenAI's limit on stop sequences.</summary>
    public const int MaxStops = 4;

    public int PromptTokens => Prompts.Sum(p => p.Count);

    public static CompletionRequest ReadCompletions(JsonElement body, ServedModel model, ServeSettings limits)
    {
        var fields = new RequestFields(body);
        CheckModel(fields, model);
        var texts = fields.Take("prompt") switch
        {
            null => throw OpenAiException.BadRequest("prompt is required.", "prompt"),
            { ValueKind: JsonValueKind.String } s => [s.GetString()!],
            { ValueKind: JsonValueKind.Array } a when a.GetArrayLength() > 0 && a.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) =>
                a.EnumerateArray().Select(e => e.GetString()!).ToList(),
            { ValueKind: JsonValueKind.Array } => throw OpenAiException.BadRequest(
                "prompt must be a string or a non-empty list of strings; token-id prompts are not supported.", "prompt"),
            _ => throw RequestFields.Invalid("prompt", "a string or a list of strings"),
        };
        if (texts.Count > limits.MaxChoices)
            throw OpenAiException.BadRequest($"prompt: {texts.Count} prompts exceed this server's limit of {limits.MaxChoices} choices per request.", "prompt");
        fields.Neutral("echo", RequestFields.IsFalse, "false");
        fields.Neutral("suffix", v => v.ValueKind == JsonValueKind.String && v.GetString()!.Length == 0, "an empty suffix");
        fields.Neutral("best_of", v => v.ValueKind == JsonValueKind.Number && v.GetDouble() == 1, "1");
        fields.Neutral("logprobs", _ => false, "null");
        var prompts = texts.Select(t => model.Generator.Encode(t)).ToList();
        var maxTokens = (int?)fields.Integer("max_tokens", 1, limits.MaxTokens) ?? CompletionsDefaultMaxTokens;
        return Finish(fields, model, limits, chat: false, prompts, maxTokens, []);
    }

    public static CompletionRequest ReadChat(JsonElement body, ServedModel model, ServeSettings limits)
    {
        var fields = new RequestFields(body);
        CheckModel(fields, model);
        var messages = ReadMessages(fields.Take("messages"));
        var prompt = model.Chat.Render(messages);
        fields.Neutral("logprobs", RequestFields.IsFalse, "false");
        fields.Neutral("top_logprobs", RequestFields.IsZero, "0");
        fields.Neutral("response_format", v => v.ValueKind == JsonValueKind.Object && v.TryGetProperty("type", out var t) && RequestFields.IsString(t, "text"), "{\"type\": \"text\"}");
        fields.Neutral("tools", RequestFields.IsEmpty, "an empty list");
        fields.Neutral("functions", RequestFields.IsEmpty, "an empty list");
        fields.Neutral("tool_choice", v => RequestFields.IsString(v, "none"), "\"none\"");
        fields.Neutral("function_call", v => RequestFields.IsString(v, "none"), "\"none\"");
        fields.Ignore("parallel_tool_calls", "store", "metadata", "service_tier");
        var ids = model.Generator.Encode(prompt.Text, prompt.AddBos);
        var maxTokens = (int?)fields.Integer("max_tokens", 1, limits.MaxTokens);
        if ((int?)fields.Integer("max_completion_tokens", 1, limits.MaxTokens) is { } completionTokens)
        {
            if (maxTokens is { } both && both != completionTokens)
                throw OpenAiException.BadRequest($"max_tokens ({both}) and max_completion_tokens ({completionTokens}) disagree; send one.", "max_completion_tokens");
            maxTokens = completionTokens;
        }
        // Without a limit a chat reply may use what the context has left, up to the server's bound.
        maxTokens ??= Math.Max(1, Math.Min(limits.MaxTokens, (model.ContextLength ?? int.MaxValue) - ids.Count));
        return Finish(fields, model, limits, chat: true, [ids], maxTokens.Value, prompt.Stops);
    }

    /// <summary>The fields both endpoints share, then the bounds that need the prompts' lengths.</summary>
    private static CompletionRequest Finish(RequestFields fields, ServedModel model, ServeSettings limits, bool chat,
        IReadOnlyList<IReadOnlyList<int>> prompts, int maxTokens, IReadOnlyList<string> formatStops)
    {
        var n = (int)(fields.Integer("n", 1, limits.MaxChoices) ?? 1);
        if (n * prompts.Count > limits.MaxChoices)
            throw OpenAiException.BadRequest($"n × prompts = {n} × {prompts.Count} exceeds this server's limit of {limits.MaxChoices} choices per request.", "n");
        var temperature = fields.Number("temperature", 1.0, 0, 2);
        var topP = fields.Number("top_p", 1.0, 0, 1, minExclusive: true);
        // top_k is not OpenAI's but vLLM's and llama.cpp's: -1 or 0 = off.
        var topK = (int)Math.Max(0, fields.Integer("top_k", -1, model.Generator.Tokenizer.VocabSize) ?? 0);
        var seed = fields.Integer("seed", long.MinValue, long.MaxValue) ?? Random.Shared.NextInt64();
        var stops = ReadStops(fields.Take("stop"));
        var stream = fields.Bool("stream", false);
        var includeUsage = false;
        if (fields.Take("stream_options") is { } streamOptions)
        {
            if (!stream) throw OpenAiException.BadRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options");
            var options = new RequestFields(streamOptions, "stream_options");
            includeUsage = options.Bool("include_usage", false);
            options.Ignore("continuous_usage_stats");
            options.RefuseUnread();
        }
        fields.Neutral("presence_penalty", RequestFields.IsZero, "0");
        fields.Neutral("frequency_penalty", RequestFields.IsZero, "0");
        fields.Neutral("logit_bias", RequestFields.IsEmpty, "an empty map");
        fields.Ignore("user");
        fields.RefuseUnread();

        for (var p = 0; p < prompts.Count; p++)
        {
            var where = prompts.Count > 1 ? $"prompt {p}" : chat ? "the messages" : "the prompt";
            if (prompts[p].Count == 0) throw OpenAiException.BadRequest($"{where} is empty and this tokenizer has no BOS token to start from.", chat ? "messages" : "prompt");
            if (model.ContextLength is { } context && prompts[p].Count + maxTokens > context)
                throw OpenAiException.BadRequest(
                    $"This model's maximum context length is {context} tokens. However, you requested {prompts[p].Count + maxTokens} tokens " +
                    $"({prompts[p].Count} in {where}, {maxTokens} in the completion). Please reduce the length of {where} or max_tokens.",
                    chat ? "messages" : "prompt", "context_length_exceeded");
        }
        var generation = new GenerationOptions
        {
            MaxNewTokens = maxTokens, Temperature = temperature, TopP = topP, TopK = topK, Seed = seed, StopStrings = [.. stops, .. formatStops],
        };
        return new CompletionRequest(chat, prompts, n, generation, stream, includeUsage);
    }

    private static void CheckModel(RequestFields fields, ServedModel model)
    {
        var name = fields.String("model") ?? throw OpenAiException.BadRequest($"model is required (this server serves '{model.Name}').", "model");
        if (name != model.Name)
            throw new OpenAiException(404, $"The model '{name}' does not exist; this server serves '{model.Name}'.", "invalid_request_error", "model", "model_not_found");
    }

    private static List<string> ReadStops(JsonElement? stop)
    {
        List<string> stops = stop switch
        {
            null => [],
            { ValueKind: JsonValueKind.String } s => [s.GetString()!],
            { ValueKind: JsonValueKind.Array } a when a.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) => [.. a.EnumerateArray().Select(e => e.GetString()!)],
            _ => throw RequestFields.Invalid("stop", "a string or a list of strings"),
        };
        if (stops.Count > MaxStops) throw OpenAiException.BadRequest($"stop: {stops.Count} sequences given; at most {MaxStops} are allowed.", "stop");
        if (stops.Any(s => s.Length == 0)) throw OpenAiException.BadRequest("stop: a stop sequence must not be empty.", "stop");
        return stops;
    }

    private static List<ChatTurn> ReadMessages(JsonElement? messages)
    {
        if (messages is not { ValueKind: JsonValueKind.Array } list || list.GetArrayLength() == 0)
            throw OpenAiException.BadRequest("messages must be a non-empty list of {\"role\", \"content\"} objects.", "messages");
        var turns = new List<ChatTurn>();
        var i = 0;
        foreach (var message in list.EnumerateArray())
        {
            var at = $"messages[{i++}]";
            var fields = new RequestFields(message, at);
            var role = fields.String("role") switch
            {
                "system" or "developer" => "system",
                "user" => "user",
                "assistant" => "assistant",
                null => throw OpenAiException.BadRequest($"{at}.role is required.", "messages"),
                var other => throw OpenAiException.BadRequest($"{at}.role '{other}' is not supported; use system, user or assistant.", "messages"),
            };
            var content = Content(fields.Take("content"), at);
            if (fields.Take("name") is not null) throw OpenAiException.BadRequest($"{at}.name is not supported; put the speaker's name in the content.", "messages");
            fields.RefuseUnread();
            turns.Add(new ChatTurn(role, content));
        }
        return turns;
    }

    /// <summary>A message's text: a string, or a list of text parts joined by new lines (as vLLM joins them).</summary>
    private static string Content(JsonElement? content, string at) => content switch
    {
        { ValueKind: JsonValueKind.String } s => s.GetString()!,
        { ValueKind: JsonValueKind.Array } parts => string.Join('\n', parts.EnumerateArray().Select(part =>
            part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var type) && RequestFields.IsString(type, "text") &&
            part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String && part.EnumerateObject().Count() == 2
                ? text.GetString()!
                : throw OpenAiException.BadRequest($"{at}.content: only text parts ({{\"type\": \"text\", \"text\": …}}) are supported.", "messages"))),
        null => throw OpenAiException.BadRequest($"{at}.content is required.", "messages"),
        _ => throw RequestFields.Invalid($"{at}.content", "a string or a list of text parts"),
    };
}
