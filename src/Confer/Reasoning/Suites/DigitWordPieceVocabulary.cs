using System.Globalization;
using Confer.Runtime;
using Confer.Tokenizers;

namespace Confer.Reasoning.Suites;

/// <summary>
/// A BERT WordPiece <c>vocab.txt</c> for a text corpus in which every number is read digit by digit: the special
/// tokens, each lower-cased word of the corpus, each punctuation or symbol character, and the ten digits both as
/// word starts (<c>7</c>) and as continuations (<c>##5</c>), but no multi-digit token. WordPiece's longest match then
/// splits <c>75</c> into <c>7 ##5</c>.
/// Why: the FedCoT discriminator of the arithmetic suite must tell <c>18 + 17 = 35</c> from <c>18 + 17 = 38</c>. With
/// bert-base-uncased's vocabulary every number below about 2,000 is one opaque token, so checking a step means
/// memorising an addition table over token ids; digit tokens make it a local, learnable pattern (units digit of the
/// sum from the units digits of the operands), as LLaMA and Qwen tokenizers split digits for the same reason.
/// The file is an ordinary HF vocab.txt: any BERT tool reads it and splits numbers the same way.
/// </summary>
public static class DigitWordPieceVocabulary
{
    /// <summary>BERT's special tokens, [PAD] first so that the pad id is 0 as in every HF BERT config.</summary>
    private static readonly string[] Specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    /// <summary>The vocabulary's lines (token id = line number) for <paramref name="texts"/>.</summary>
    public static IReadOnlyList<string> Build(IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var words = new SortedSet<string>(StringComparer.Ordinal);
        var symbols = new SortedSet<string>(StringComparer.Ordinal);
        // The words BERT's tokenizer will hand WordPiece (uncased), so every one of them has its pieces here.
        var basic = new BertBasicTokenizer(lowerCase: true, stripAccents: true, splitCjk: true, neverSplit: new HashSet<string>());
        foreach (var word in texts.SelectMany(basic.Split))
        {
            if (word.Length == 1 && BertBasicTokenizer.IsPunctuation(word[0])) symbols.Add(word);
            else if (!word.Any(char.IsAsciiDigit)) words.Add(word);
            else if (word.Any(char.IsLetter))
                throw new InvalidOperationException($"The corpus token '{word}' mixes letters and digits; a digit-level vocabulary has no piece for its letters.");
            else
            {
                // A number with a symbol inside (3×4): the symbol needs its piece, as a word start or a continuation.
                for (var i = 0; i < word.Length; i++)
                    if (!char.IsAsciiDigit(word[i])) symbols.Add(i == 0 ? word[i].ToString() : "##" + word[i]);
            }
        }
        var digits = Enumerable.Range(0, 10).Select(d => d.ToString(CultureInfo.InvariantCulture)).ToList();
        var lines = new List<string>(Specials);
        lines.AddRange(symbols);
        lines.AddRange(digits);
        lines.AddRange(digits.Select(d => "##" + d));
        lines.AddRange(words);
        return lines;
    }

    /// <summary>Writes the vocabulary of <paramref name="texts"/> as <c>vocab.txt</c> in <paramref name="folder"/>.</summary>
    public static void Write(IEnumerable<string> texts, string folder)
    {
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllText(Path.Combine(folder, "vocab.txt"), string.Join('\n', Build(texts)) + "\n");
    }
}
