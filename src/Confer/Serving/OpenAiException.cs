using System.Text.Json.Nodes;

namespace Confer.Serving;

/// <summary>
/// A request <c>confer serve</c> refuses, answered with this HTTP status and OpenAI's error body
/// <c>{"error": {"message", "type", "param", "code"}}</c>, so OpenAI clients raise their usual exceptions.
/// </summary>
public sealed class OpenAiException(int status, string message, string type, string? param = null, string? code = null) : Exception(message)
{
    public int Status { get; } = status;

    public string Type { get; } = type;

    public string? Param { get; } = param;

    public string? Code { get; } = code;

    public static OpenAiException BadRequest(string message, string? param = null, string? code = null) =>
        new(400, message, "invalid_request_error", param, code);

    public JsonObject ToJson() => Body(Message, Type, Param, Code);

    /// <summary>OpenAI's error body.</summary>
    public static JsonObject Body(string message, string type, string? param = null, string? code = null) => new()
    {
        ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = code },
    };
}
