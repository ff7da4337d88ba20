using System.Text.Json;
using System.Text.RegularExpressions;

namespace Confer.Tokenizers.TokenizerJson;

/// <summary>
/// The <c>pre_tokenizer</c> of a byte-level BPE <c>tokenizer.json</c>: <c>Split</c> steps (the model's own regex,
/// Isolated or Removed) followed by <c>ByteLevel</c> (optional prefix space, optional GPT-2 regex split), alone or in a
/// <c>Sequence</c>. The byte-to-character mapping of <c>ByteLevel</c> is done by the BPE model afterwards.
/// </summary>
internal sealed class PreTokenizerPipeline
{
    /// <summary>GPT-2's split, which <c>ByteLevel</c> applies when <c>use_regex</c> is true (as in HF tokenizers).</summary>
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly IReadOnlyList<RegexSplit> _splits;
    private readonly bool _addPrefixSpace;

    private PreTokenizerPipeline(IReadOnlyList<RegexSplit> splits, bool addPrefixSpace)
    {
        _splits = splits;
        _addPrefixSpace = addPrefixSpace;
    }

    /// <summary>True when the pre-tokenizer ends in <c>ByteLevel</c>: the test for the byte-level BPE family.</summary>
    public static bool IsByteLevel(JsonElement preTokenizer) =>
        preTokenizer.ValueKind == JsonValueKind.Object && TokenizerJsonFields.Text(preTokenizer, "type") switch
        {
            "ByteLevel" => true,
            "Sequence" => preTokenizer.TryGetProperty("pretokenizers", out var steps) && steps.ValueKind == JsonValueKind.Array &&
                          steps.GetArrayLength() > 0 && IsByteLevel(steps[steps.GetArrayLength() - 1]),
            _ => false,
        };

    public static PreTokenizerPipeline Read(JsonElement preTokenizer, string path)
    {
        var steps = TokenizerJsonFields.TypeOf(preTokenizer, path, "pre_tokenizer") == "Sequence"
            ? preTokenizer.GetProperty("pretokenizers").EnumerateArray().ToList()
            : [preTokenizer];
        var splits = new List<RegexSplit>();
        for (int i = 0; i < steps.Count; i++)
        {
            string type = TokenizerJsonFields.TypeOf(steps[i], path, "pre_tokenizer");
            bool last = i == steps.Count - 1;
            if (type == "Split" && !last) splits.Add(ReadSplit(steps[i], path));
            else if (type == "ByteLevel" && last)
            {
                if (TokenizerJsonFields.Flag(steps[i], "use_regex")) splits.Add(new RegexSplit(new Regex(Gpt2Pattern, RegexOptions.Compiled), keepMatches: true));
                return new PreTokenizerPipeline(splits, TokenizerJsonFields.Flag(steps[i], "add_prefix_space"));
            }
            else throw TokenizerJsonError.Unsupported(path, "pre_tokenizer", type, "Split steps followed by one ByteLevel, alone or in a Sequence");
        }
        throw TokenizerJsonError.Unsupported(path, "pre_tokenizer", "Sequence without ByteLevel", "byte-level BPE (a pre_tokenizer ending in ByteLevel)");
    }

    private static RegexSplit ReadSplit(JsonElement split, string path)
    {
        if (TokenizerJsonFields.Flag(split, "invert")) throw TokenizerJsonError.UnsupportedValue(path, "pre_tokenizer Split", "invert", "true", "false");
        var pattern = split.GetProperty("pattern");
        string regex = TokenizerJsonFields.Text(pattern, "Regex")
                       ?? (TokenizerJsonFields.Text(pattern, "String") is { } literal ? Regex.Escape(literal) : throw TokenizerJsonError.Invalid(path, "Split pattern is neither Regex nor String"));
        string behavior = TokenizerJsonFields.Text(split, "behavior") ?? "Isolated";
        bool keep = behavior switch
        {
            "Isolated" => true,
            "Removed" => false,
            _ => throw TokenizerJsonError.UnsupportedValue(path, "pre_tokenizer Split", "behavior", behavior, "Isolated and Removed"),
        };
        try
        {
            return new RegexSplit(new Regex(regex, RegexOptions.Compiled), keep);
        }
        catch (ArgumentException e)
        {
            throw TokenizerJsonError.Invalid(path, $"Split regex '{regex}' is not a valid .NET regular expression ({e.Message})");
        }
    }

    /// <summary>The pieces of one stretch of (normalised) text that the BPE model encodes one by one.</summary>
    public List<string> Split(string text)
    {
        if (_addPrefixSpace && !text.StartsWith(' ')) text = " " + text;
        var pieces = new List<string> { text };
        foreach (var split in _splits)
        {
            var next = new List<string>(pieces.Count * 4);
            foreach (var piece in pieces) split.Split(piece, next);
            pieces = next;
        }
        return pieces;
    }
}
