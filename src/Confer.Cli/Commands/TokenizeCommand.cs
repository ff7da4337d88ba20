using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confer.Tokenizers;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer tokenize</c>: the ids of a text (or of a chat rendered with the model's template) as one JSON list, then
/// one line per token with its text, as llama.cpp's tokenize tool prints them.
/// </summary>
internal static class TokenizeCommand
{
    public static Command Create()
    {
        var tokenizer = new Option<string>("--tokenizer", "-t") { Description = "tokenizer or model folder (tokenizer.json, tokenizer.model, vocab.json + merges.txt, vocab.txt)", Required = true };
        var prompt = new Option<string?>("--prompt", "-p") { Description = "text to tokenize; with --chat, a last user message (reads stdin when neither is given)" };
        var noSpecial = new Option<bool>("--no-special") { Description = "do not add the tokenizer's own special tokens (BOS …); special tokens written in the text still count" };
        var chat = new Option<string?>("--chat") { Description = "JSON file with a list of {\"role\", \"content\"} messages, rendered with the folder's chat template and an open assistant turn" };
        var command = new Command("tokenize", "Print the token ids and pieces of a text or chat.") { tokenizer, prompt, noSpecial, chat };
        command.SetAction(parse =>
        {
            var folder = parse.GetValue(tokenizer)!;
            var tok = TextTokenizer.FromPretrained(folder);
            IReadOnlyList<int> ids;
            if (parse.GetValue(chat) is { } chatFile)
            {
                var template = tok.ChatTemplate ?? throw new InvalidDataException($"'{folder}' has no chat template (tokenizer_config.json chat_template or chat_template.jinja).");
                var text = template.Render(Messages(chatFile, parse.GetValue(prompt)), addGenerationPrompt: true);
                // The template writes its own special tokens, so nothing is added (transformers' apply_chat_template).
                ids = tok.Encode(text);
            }
            else
            {
                var text = parse.GetValue(prompt) ?? System.Console.In.ReadToEnd();
                ids = parse.GetValue(noSpecial) ? tok.Encode(text) : tok.EncodeWithSpecialTokens(text);
            }
            System.Console.WriteLine(JsonSerializer.Serialize(ids));
            foreach (var (id, piece) in ids.Zip(tok.Pieces(ids)))
                System.Console.WriteLine($"{id,8} -> '{piece}'");
            return 0;
        });
        return command;
    }

    private static JsonElement Messages(string path, string? lastUserMessage)
    {
        JsonArray messages;
        try
        {
            messages = JsonNode.Parse(File.ReadAllText(path)) as JsonArray
                       ?? throw new InvalidDataException($"'{path}' must hold a JSON list of {{\"role\", \"content\"}} messages.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON ({e.Message}).", e);
        }
        if (lastUserMessage is not null) messages.Add(new JsonObject { ["role"] = "user", ["content"] = lastUserMessage });
        return JsonSerializer.SerializeToElement(messages);
    }
}
