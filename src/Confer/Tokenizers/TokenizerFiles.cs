namespace Confer.Tokenizers;

/// <summary>The files that make up a tokenizer in a Hugging Face model folder.</summary>
public static class TokenizerFiles
{
    public static readonly IReadOnlyList<string> Names =
    [
        "tokenizer.json", "tokenizer.model", "vocab.json", "merges.txt", "encoder.json", "vocab.bpe", "vocab.txt",
        "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
    ];

    /// <summary>Copies whichever tokenizer files exist in <paramref name="source"/> into <paramref name="destination"/>.</summary>
    public static void CopyTo(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        var copied = 0;
        foreach (var name in Names)
        {
            var from = Path.Combine(source, name);
            if (!File.Exists(from)) continue;
            var bytes = File.ReadAllBytes(from);
            AtomicFile.WriteAllBytes(Path.Combine(destination, name), bytes);
            copied++;
        }
        if (copied == 0) throw new FileNotFoundException($"No tokenizer files in '{source}' (expected one of {string.Join(", ", Names)}).");
    }
}
