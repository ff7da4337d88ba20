using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confer.Training.Generation;

namespace Confer.Serving;

/// <summary>The response bodies of OpenAI's API as <c>confer serve</c> writes them (completion, chat completion, their stream chunks, model list).</summary>
internal static class OpenAiJson
{
    /// <summary>Text stays readable (é, not \u00e9); the bodies are JSON, never HTML, so HTML-safe escaping buys nothing.</summary>
    private static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Text(JsonNode node) => node.ToJsonString(Options);

    public static string FinishReason(FinishReason reason) => reason == Training.Generation.FinishReason.Length ? "length" : "stop";

    /// <summary>A whole (non-streamed) answer.</summary>
    public static JsonObject Response(ResponseHeader header, IReadOnlyList<Completion> choices, int promptTokens) =>
        Envelope(header, header.Chat ? "chat.completion" : "text_completion",
            new JsonArray([.. choices.Select((c, i) => Choice(header.Chat, i, c.Text, FinishReason(c.Finish), streamed: false))]),
            Usage(promptTokens, choices.Sum(c => c.Tokens)));

    /// <summary>A stream chunk carrying <paramref name="text"/> of choice <paramref name="index"/>, or its end when <paramref name="finish"/> is set.</summary>
    public static JsonObject Chunk(ResponseHeader header, int index, string text, string? finish) =>
        Envelope(header, ChunkObject(header), new JsonArray(Choice(header.Chat, index, text, finish, streamed: true)));

    /// <summary>The first chunk of a streamed chat choice: the assistant's role.</summary>
    public static JsonObject RoleChunk(ResponseHeader header, int index)
    {
        var choice = new JsonObject
        {
            ["index"] = index, ["delta"] = new JsonObject { ["role"] = "assistant", ["content"] = "" }, ["logprobs"] = null, ["finish_reason"] = null,
        };
        return Envelope(header, ChunkObject(header), new JsonArray(choice));
    }

    /// <summary>The last chunk when the client asked for <c>stream_options.include_usage</c>: no choices, the usage.</summary>
    public static JsonObject UsageChunk(ResponseHeader header, int promptTokens, int completionTokens) =>
        Envelope(header, ChunkObject(header), [], Usage(promptTokens, completionTokens));

    public static JsonObject Model(string name, long created) => new()
    {
        ["id"] = name, ["object"] = "model", ["created"] = created, ["owned_by"] = "confer",
    };

    private static string ChunkObject(ResponseHeader header) => header.Chat ? "chat.completion.chunk" : "text_completion";

    private static JsonObject Choice(bool chat, int index, string text, string? finish, bool streamed)
    {
        var choice = new JsonObject { ["index"] = index };
        if (!chat) choice["text"] = text;
        else if (streamed) choice["delta"] = finish is null ? new JsonObject { ["content"] = text } : new JsonObject();
        else choice["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text };
        choice["logprobs"] = null;
        choice["finish_reason"] = finish;
        return choice;
    }

    private static JsonObject Envelope(ResponseHeader header, string type, JsonArray choices, JsonObject? usage = null)
    {
        var body = new JsonObject
        {
            ["id"] = header.Id, ["object"] = type, ["created"] = header.Created, ["model"] = header.Model, ["choices"] = choices,
        };
        if (usage is not null) body["usage"] = usage;
        return body;
    }

    private static JsonObject Usage(int prompt, int completion) => new()
    {
        ["prompt_tokens"] = prompt, ["completion_tokens"] = completion, ["total_tokens"] = prompt + completion,
    };
}

/// <summary>What every body and chunk of one answer repeats: its id, creation time and model.</summary>
internal sealed record ResponseHeader(string Id, long Created, string Model, bool Chat)
{
    public static ResponseHeader For(bool chat, string model) =>
        new($"{(chat ? "chatcmpl" : "cmpl")}-{Guid.NewGuid():N}", DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model, chat);
}
