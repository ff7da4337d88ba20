using Confer.Chat;
using Confer.Models;
using Confer.Tokenizers;

namespace Confer.Training.Generation;

/// <summary>Prompt text in, generated text out: tokenisation, batched decoding and stop strings.</summary>
public sealed class TextGenerator
{
    private readonly TokenGenerator _tokens;
    private readonly TextTokenizer _tokenizer;
    private readonly ContinuationText _continuation;

    public TextGenerator(CausalLanguageModel model, TextTokenizer tokenizer)
    {
        _tokens = new TokenGenerator(model);
        _tokenizer = tokenizer;
        _continuation = new ContinuationText(tokenizer);
    }

    /// <summary>Generates a completion per prompt (the prompt itself is not repeated), cut at the first stop string.</summary>
    public IReadOnlyList<string> Generate(IReadOnlyList<string> prompts, GenerationOptions options) =>
        Generate(prompts.Select(p => _tokenizer.Encode(p, addBos: _tokenizer.BosId is not null)).ToList(), options);

    /// <summary>
    /// The assistant's reply to each conversation, in the model's own chat format: rendered with its chat template and
    /// an open assistant turn, tokenized without adding BOS (the template writes its own special tokens, as
    /// transformers' <c>apply_chat_template</c> does).
    /// </summary>
    public IReadOnlyList<string> GenerateChat(IReadOnlyList<IReadOnlyList<ChatMessage>> conversations, GenerationOptions options)
    {
        var template = _tokenizer.ChatTemplate ?? throw new InvalidDataException(
            "This model folder has no chat template (tokenizer_config.json chat_template or chat_template.jinja); generate without --chat.");
        return Generate(conversations.Select(c => _tokenizer.Encode(template.Render(c, addGenerationPrompt: true))).ToList(), options);
    }

    private IReadOnlyList<string> Generate(List<IReadOnlyList<int>> ids, GenerationOptions options)
    {
        Func<int, IReadOnlyList<int>, bool>? stop = options.StopStrings.Count == 0
            ? null
            : (row, generated) => ContainsStop(_continuation.Decode(ids[row], generated), options.StopStrings);
        // generation_config.json's end ids, when given, replace the tokenizer's EOS (transformers does the same).
        var outputs = _tokens.Generate(ids, options, options.EosTokenIds is null ? _tokenizer.EosId : null, stop, _tokenizer.PadId ?? 0);
        return outputs.Select((o, row) => CutAtStop(_continuation.Decode(ids[row], o), options.StopStrings)).ToList();
    }

    private static bool ContainsStop(string text, IReadOnlyList<string> stops) => stops.Any(s => text.Contains(s, StringComparison.Ordinal));

    private static string CutAtStop(string text, IReadOnlyList<string> stops)
    {
        var cut = stops.Select(s => text.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(text.Length).Min();
        return text[..cut];
    }
}
