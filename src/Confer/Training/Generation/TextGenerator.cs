using Confer.Models;
using Confer.Tokenizers;

namespace Confer.Training.Generation;

/// <summary>Prompt text in, generated text out: tokenisation, batched decoding and stop strings.</summary>
public sealed class TextGenerator
{
    private readonly TokenGenerator _tokens;
    private readonly TextTokenizer _tokenizer;

    public TextGenerator(CausalLanguageModel model, TextTokenizer tokenizer)
    {
        _tokens = new TokenGenerator(model);
        _tokenizer = tokenizer;
    }

    /// <summary>Generates a completion per prompt (the prompt itself is not repeated), cut at the first stop string.</summary>
    public IReadOnlyList<string> Generate(IReadOnlyList<string> prompts, GenerationOptions options)
    {
        var ids = prompts.Select(p => _tokenizer.Encode(p, addBos: _tokenizer.BosId is not null)).ToList();
        Func<int, IReadOnlyList<int>, bool>? stop = options.StopStrings.Count == 0
            ? null
            : (_, generated) => ContainsStop(_tokenizer.Decode(generated), options.StopStrings);
        var outputs = _tokens.Generate(ids, options, _tokenizer.EosId, stop, _tokenizer.PadId ?? 0);
        return outputs.Select(o => CutAtStop(_tokenizer.Decode(o), options.StopStrings)).ToList();
    }

    private static bool ContainsStop(string text, IReadOnlyList<string> stops) => stops.Any(s => text.Contains(s, StringComparison.Ordinal));

    private static string CutAtStop(string text, IReadOnlyList<string> stops)
    {
        var cut = stops.Select(s => text.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(text.Length).Min();
        return text[..cut];
    }
}
