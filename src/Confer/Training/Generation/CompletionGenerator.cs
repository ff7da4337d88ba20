using Confer.Models;
using Confer.Tokenizers;

namespace Confer.Training.Generation;

/// <summary>
/// What an OpenAI-style completion request needs from a model: n seeded choices per prompt decoded in one batch, the
/// text of each released as it becomes final (for streaming), cut at stop strings, with token counts and finish
/// reasons. <c>confer serve</c> and the in-process reasoning actor both generate through it, so the same request gives
/// them the same text.
/// </summary>
/// <remarks>
/// Choice i of a prompt samples from its own generator seeded <see cref="ChoiceSeed"/>(seed, i), so its text does not
/// depend on n or on the other prompts in the batch; choice 0 uses the seed itself, which makes n = 1 the same text as
/// <see cref="TextGenerator"/> (and <c>confer generate</c>) with that seed. Not thread-safe: the model is not.
/// </remarks>
public sealed class CompletionGenerator
{
    private readonly TokenGenerator _tokens;

    public CompletionGenerator(CausalLanguageModel model, TextTokenizer tokenizer)
    {
        _tokens = new TokenGenerator(model);
        Tokenizer = tokenizer;
    }

    public TextTokenizer Tokenizer { get; }

    /// <summary>The ids of a text prompt as <see cref="TextGenerator"/> encodes it: BOS first when the tokenizer has one and <paramref name="addBos"/> is set.</summary>
    /// <param name="prompt">The prompt text.</param>
    /// <param name="addBos">False for text that already carries its special tokens (a rendered chat template).</param>
    public IReadOnlyList<int> Encode(string prompt, bool addBos = true) => Tokenizer.Encode(prompt, addBos: addBos && Tokenizer.BosId is not null);

    /// <summary>
    /// <paramref name="n"/> choices for each prompt, prompt-major (result <c>p * n + i</c> is choice i of prompt p).
    /// <paramref name="onText"/>, when given, hears each piece of a choice's text (by that result index) as soon as no
    /// later token can change it; the pieces of a choice add up to its <see cref="Completion.Text"/>.
    /// </summary>
    /// <param name="prompts">Token ids of each prompt (at least one token each).</param>
    /// <param name="n">Choices per prompt.</param>
    /// <param name="options">Decoding settings; <see cref="GenerationOptions.RowSeeds"/> is set here from <see cref="GenerationOptions.Seed"/>.</param>
    /// <param name="onText">Streaming callback, called on the generating thread.</param>
    /// <param name="ct">Ends decoding at the next token; the call then throws <see cref="OperationCanceledException"/>.</param>
    public IReadOnlyList<Completion> Generate(IReadOnlyList<IReadOnlyList<int>> prompts, int n, GenerationOptions options,
        Action<int, string>? onText = null, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        var rows = prompts.SelectMany(p => Enumerable.Repeat(p, n)).ToList();
        var texts = rows.Select(_ => new ChoiceText(Tokenizer, options.StopStrings)).ToArray();
        // Following the text token by token costs a decode per token; only stop strings and streaming need it.
        var follow = onText is not null || options.StopStrings.Count > 0;
        bool ShouldStop(int row, IReadOnlyList<int> generated)
        {
            if (follow && texts[row].Push(generated) is { Length: > 0 } piece) onText?.Invoke(row, piece);
            return texts[row].Stopped || ct.IsCancellationRequested;
        }
        var seeded = options with { RowSeeds = [.. Enumerable.Range(0, rows.Count).Select(r => ChoiceSeed(options.Seed, r % n))] };
        var outputs = _tokens.Generate(rows, seeded, Tokenizer.EosId, ShouldStop, Tokenizer.PadId ?? 0);
        ct.ThrowIfCancellationRequested();
        var completions = new Completion[rows.Count];
        for (var r = 0; r < rows.Count; r++)
        {
            if (texts[r].Finish(outputs[r]) is { Length: > 0 } rest) onText?.Invoke(r, rest);
            // A choice that is neither stopped by a string nor full ended at its end-of-sequence token.
            var finish = texts[r].Stopped || outputs[r].Length < options.MaxNewTokens ? FinishReason.Stop : FinishReason.Length;
            completions[r] = new Completion(texts[r].Text, outputs[r].Length, finish);
        }
        return completions;
    }

    /// <summary>
    /// The seed choice <paramref name="choice"/> samples from: the request's seed for choice 0, and for the others a
    /// SplitMix64 mix of (seed, choice) — not seed + choice, which would make choice 1 of a request seeded s repeat
    /// the random stream of choice 0 of the request seeded s + 1.
    /// </summary>
    public static long ChoiceSeed(long seed, int choice)
    {
        if (choice == 0) return seed;
        var z = unchecked((ulong)seed + (ulong)choice * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return unchecked((long)(z ^ (z >> 31)));
    }
}
