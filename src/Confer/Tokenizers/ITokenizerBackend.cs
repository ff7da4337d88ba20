namespace Confer.Tokenizers;

/// <summary>One tokenizer family behind <see cref="TextTokenizer"/>: plain encode/decode plus its own defaults.</summary>
internal interface ITokenizerBackend
{
    TextTokenizerKind Kind { get; }

    /// <summary>Token string → id for every token, used to resolve special tokens named in config files.</summary>
    IReadOnlyDictionary<string, int> Vocabulary { get; }

    /// <summary>Number of ids the model's embedding must cover.</summary>
    int VocabSize { get; }

    /// <summary>The family's own special tokens, used where the folder's config files say nothing.</summary>
    SpecialTokenIds Defaults { get; }

    /// <summary>Ids of <paramref name="text"/> without any BOS/EOS/CLS/SEP.</summary>
    IReadOnlyList<int> Encode(string text);

    string Decode(IEnumerable<int> ids, bool skipSpecialTokens);

    /// <summary>
    /// The special tokens the file itself puts around one sequence (tokenizer.json's post-processor); null where the
    /// format has no such rule and the family's convention applies.
    /// </summary>
    (IReadOnlyList<int> Prefix, IReadOnlyList<int> Suffix)? SpecialTokenTemplate => null;
}
