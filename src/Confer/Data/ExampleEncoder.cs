using Confer.Tokenizers;

namespace Confer.Data;

/// <summary>
/// Turns instruction records into causal-LM examples the way alpaca-lora/Shepherd do: BOS + tokens of the full text
/// (prompt + response), EOS appended when it fits under the cut-off, and labels equal to the input ids except on the
/// prompt, which is masked unless <see cref="ExampleEncoderOptions.TrainOnInputs"/>. The prompt length is the
/// longest common prefix of the prompt's own encoding and the full encoding, so a token that merges the end of the
/// prompt with the start of the response (possible with byte-level BPE) is trained on rather than silently masked.
/// </summary>
public sealed class ExampleEncoder
{
    private readonly TextTokenizer _tokenizer;
    private readonly int _eosId;

    public ExampleEncoder(TextTokenizer tokenizer, Prompter prompter, ExampleEncoderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prompter);
        Options = options ?? new ExampleEncoderOptions();
        Options.Validate();
        _tokenizer = tokenizer;
        _eosId = tokenizer.EosId ?? throw new ArgumentException(
            "The tokenizer has no EOS token; instruction tuning needs one so the model learns to stop. " +
            "Set eos_token in the tokenizer folder's tokenizer_config.json.", nameof(tokenizer));
        Prompter = prompter.ForTokenizer(tokenizer);
    }

    public ExampleEncoderOptions Options { get; }

    public Prompter Prompter { get; }

    /// <summary>Encodes every record, dropping those whose response is cut off entirely unless
    /// <see cref="ExampleEncoderOptions.KeepFullyTruncated"/>, and counts what truncation did.</summary>
    public EncodedDataset EncodeAll(IEnumerable<InstructionRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var examples = new List<TokenizedExample>();
        int total = 0, truncated = 0, dropped = 0;
        foreach (var record in records)
        {
            total++;
            var (example, wasTruncated, responseCutOff) = EncodeWithFlags(record);
            if (responseCutOff && !Options.KeepFullyTruncated)
            {
                dropped++;
                continue;
            }
            if (wasTruncated) truncated++;
            examples.Add(example);
        }
        return new EncodedDataset(examples, total, truncated, dropped);
    }

    /// <summary>Encodes one record (never dropped; a fully cut-off response gives an example without targets).</summary>
    public TokenizedExample Encode(InstructionRecord record) => EncodeWithFlags(record).Example;

    /// <summary>BOS + the prompt's tokens (chat mode: the rendered prompt alone): the generation input that matches what training conditioned on.</summary>
    public IReadOnlyList<int> EncodePrompt(InstructionRecord record)
    {
        var text = Prompter.Build(record);
        return _tokenizer.Encode(text.Prompt, addBos: !text.HasSpecialTokens && _tokenizer.BosId is not null);
    }

    private (TokenizedExample Example, bool Truncated, bool ResponseCutOff) EncodeWithFlags(InstructionRecord record)
    {
        var (prompt, full) = Tokenize(record);
        // Alpaca texts need room for the EOS after them; chat texts end with their own end-of-turn token.
        var overflowAt = Prompter.UsesChatTemplate ? Options.MaxLength + 1 : Options.MaxLength;
        if (full.Count >= overflowAt && Options.ShortenInputFirst && record.Input.Length > 0)
        {
            // Cut the context in proportion to the overflow, a few times at most (token counts are not linear in chars).
            var input = record.Input;
            for (var attempt = 0; attempt < 4 && full.Count >= overflowAt && input.Length > 0; attempt++)
            {
                var inputTokens = Math.Max(1, _tokenizer.Encode(input).Count);
                var excess = full.Count - overflowAt + 1 + 4;
                var keep = Math.Max(0, inputTokens - excess) / (double)inputTokens;
                input = input[..(int)(input.Length * keep)];
                (prompt, full) = Tokenize(record with { Input = input });
            }
            var shortened = Assemble(prompt, full, EosToAppend(), Options);
            return (shortened.Example, true, shortened.ResponseCutOff);
        }
        return Assemble(prompt, full, EosToAppend(), Options);
    }

    /// <summary>Chat-formatted text ends with the template's own end-of-turn token, so no EOS follows it.</summary>
    private int? EosToAppend() => Prompter.UsesChatTemplate ? null : _eosId;

    private (IReadOnlyList<int> Prompt, IReadOnlyList<int> Full) Tokenize(InstructionRecord record)
    {
        var text = Prompter.Build(record);
        var bos = !text.HasSpecialTokens && _tokenizer.BosId is not null;
        return (_tokenizer.Encode(text.Prompt, addBos: bos), _tokenizer.Encode(text.Full, addBos: bos));
    }

    /// <summary>Builds the example from the prompt's and the full text's token ids (both with BOS when the tokenizer
    /// has one). Truncated means tokens or the EOS were lost; response cut off means no response token or EOS survived.
    /// Without <paramref name="eosId"/> (chat format) nothing is appended and the text is only cut to the cut-off.</summary>
    internal static (TokenizedExample Example, bool Truncated, bool ResponseCutOff) Assemble(
        IReadOnlyList<int> promptIds, IReadOnlyList<int> fullIds, int? eosId, ExampleEncoderOptions options)
    {
        var promptLength = 0;
        while (promptLength < promptIds.Count && promptLength < fullIds.Count && promptIds[promptLength] == fullIds[promptLength])
            promptLength++;

        // As alpaca-lora: EOS only when the text is strictly shorter than the cut-off, else cut to the cut-off.
        var fits = eosId is null ? fullIds.Count <= options.MaxLength : fullIds.Count < options.MaxLength;
        var length = !fits ? options.MaxLength : eosId is null ? fullIds.Count : fullIds.Count + 1;
        var ids = new int[length];
        for (var i = 0; i < length; i++) ids[i] = i < fullIds.Count ? fullIds[i] : eosId!.Value;

        var labels = (int[])ids.Clone();
        if (!options.TrainOnInputs) Array.Fill(labels, TokenizedExample.IgnoreLabel, 0, Math.Min(promptLength, length));
        return (new TokenizedExample(ids, labels), !fits, promptLength >= length);
    }
}
