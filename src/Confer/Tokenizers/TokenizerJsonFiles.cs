using System.Text.Json;

namespace Confer.Tokenizers;

/// <summary>Reads the JSON files of a tokenizer folder (tokenizer.json, tokenizer_config.json …) with errors that name the file.</summary>
internal static class TokenizerJsonFiles
{
    /// <summary>The file's root element, detached from its document.</summary>
    public static JsonElement Parse(string path)
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
