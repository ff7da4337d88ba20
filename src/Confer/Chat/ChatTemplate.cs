using System.Text.Json;
using Confer.Chat.Jinja;

namespace Confer.Chat;

/// <summary>
/// A model's own chat format: the Jinja template Hugging Face stores in <c>chat_template.jinja</c> or in
/// <c>tokenizer_config.json</c>'s <c>chat_template</c> (a string, or a list of named templates of which "default" is
/// used), rendered as transformers' <c>apply_chat_template</c> renders it: <c>trim_blocks</c>, <c>lstrip_blocks</c>,
/// with <c>messages</c>, <c>add_generation_prompt</c> and the special-token strings (<c>bos_token</c> …) as variables.
/// A template that uses Jinja beyond Confer's subset fails when loaded, naming the construct.
/// </summary>
public sealed class ChatTemplate
{
    public const string ConfigFile = "tokenizer_config.json";
    public const string JinjaFile = "chat_template.jinja";

    private static readonly string[] TokenNames = ["bos_token", "eos_token", "unk_token", "pad_token"];

    private readonly IReadOnlyList<JinjaNode> _template;
    private readonly IReadOnlyDictionary<string, object?> _tokens;

    private ChatTemplate(string text, IReadOnlyDictionary<string, object?> tokens, string source)
    {
        Source = source;
        _tokens = tokens;
        try
        {
            _template = JinjaParser.Parse(text);
        }
        catch (JinjaException e)
        {
            throw new InvalidDataException($"{source}: the chat template cannot be read: {e.Message}.", e);
        }
    }

    /// <summary>Where the template came from (file and field), for messages.</summary>
    public string Source { get; }

    /// <summary>The folder's chat template, or null when it has none.</summary>
    public static ChatTemplate? FromModelFolder(string folder)
    {
        string configPath = Path.Combine(folder, ConfigFile);
        JsonElement? config = File.Exists(configPath) ? ReadJson(configPath) : null;
        var tokens = new Dictionary<string, object?>(StringComparer.Ordinal);
        // Like transformers' special_tokens_map, only tokens that are set: an unset one is undefined (""), not None.
        foreach (var name in TokenNames)
            if (config is { } c && TokenText(c, name) is { } text) tokens[name] = text;

        string jinjaPath = Path.Combine(folder, JinjaFile);
        if (File.Exists(jinjaPath)) return new ChatTemplate(File.ReadAllText(jinjaPath), tokens, jinjaPath);
        if (config is not { } json || !json.TryGetProperty("chat_template", out var template) || template.ValueKind == JsonValueKind.Null) return null;
        return template.ValueKind switch
        {
            JsonValueKind.String => new ChatTemplate(template.GetString()!, tokens, $"{configPath} chat_template"),
            JsonValueKind.Array => new ChatTemplate(DefaultOf(template, configPath), tokens, $"{configPath} chat_template 'default'"),
            _ => throw new InvalidDataException($"{configPath}: chat_template must be a string or a list of {{name, template}}."),
        };
    }

    /// <summary>Renders <paramref name="messages"/>; <paramref name="addGenerationPrompt"/> opens the assistant's turn.</summary>
    /// <param name="messages">The conversation.</param>
    /// <param name="addGenerationPrompt">Append the start of an assistant turn (for generation).</param>
    /// <param name="variables">Further template variables, e.g. <c>enable_thinking</c> for Qwen3.</param>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, IReadOnlyDictionary<string, object?>? variables = null) =>
        Render(messages.Select(m => (object?)new Dictionary<string, object?>(StringComparer.Ordinal) { ["role"] = m.Role, ["content"] = m.Content }).ToList(),
            addGenerationPrompt, variables);

    /// <summary>Renders messages given as JSON (a list of objects with role, content and any other fields the template reads).</summary>
    public string Render(JsonElement messages, bool addGenerationPrompt, IReadOnlyDictionary<string, object?>? variables = null)
    {
        if (messages.ValueKind != JsonValueKind.Array) throw new InvalidDataException("Chat messages must be a JSON list of {\"role\", \"content\"} objects.");
        return Render((List<object?>)JinjaValues.FromJson(messages)!, addGenerationPrompt, variables);
    }

    private string Render(List<object?> messages, bool addGenerationPrompt, IReadOnlyDictionary<string, object?>? variables)
    {
        var context = new Dictionary<string, object?>(_tokens, StringComparer.Ordinal)
        {
            ["messages"] = messages,
            ["add_generation_prompt"] = addGenerationPrompt,
        };
        foreach (var (key, value) in variables ?? new Dictionary<string, object?>()) context[key] = value;
        try
        {
            return JinjaRenderer.Render(_template, context);
        }
        catch (JinjaException e)
        {
            throw new InvalidDataException($"{Source}: {e.Message}.", e);
        }
    }

    private static string DefaultOf(JsonElement templates, string path)
    {
        foreach (var entry in templates.EnumerateArray())
            if (entry.TryGetProperty("name", out var name) && name.GetString() == "default" && entry.TryGetProperty("template", out var text))
                return text.GetString()!;
        throw new InvalidDataException($"{path}: chat_template lists no template named 'default'.");
    }

    private static string? TokenText(JsonElement config, string name) =>
        config.TryGetProperty(name, out var v)
            ? v.ValueKind switch
            {
                JsonValueKind.String => v.GetString(),
                JsonValueKind.Object when v.TryGetProperty("content", out var c) => c.GetString(),
                _ => null,
            }
            : null;

    private static JsonElement ReadJson(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON ({e.Message}).", e);
        }
    }
}
