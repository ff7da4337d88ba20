using Confer.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Training.ReplacedTokens;

/// <summary>
/// The corruption of replaced-token detection: each non-special token is replaced with
/// <see cref="Probability"/> by another token of the same kind — a digit by another digit, a <c>##</c> digit by
/// another <c>##</c> digit, a word piece by another word piece of the same position (start or <c>##</c>). ELECTRA draws
/// replacements from a small masked-LM generator so that they are plausible; keeping the kind is the generator-free
/// version of that: a replaced number still reads as a number, so spotting it means checking it against its context
/// (the operands of an equation), not noticing a word where a digit belongs. Draws come from an own seeded generator.
/// </summary>
internal sealed class TokenReplacer : IDisposable
{
    private readonly Tensor _kindOf;
    private readonly Tensor _positionInKind;
    private readonly Tensor _kindStart;
    private readonly Tensor _kindSize;
    private readonly Tensor _members;
    private readonly Generator _generator;

    /// <param name="tokenizer">A WordPiece tokenizer; its [CLS], [SEP], [PAD], [UNK] and [MASK] are never replaced.</param>
    /// <param name="vocabSize">The model's vocabulary size (ids at or above the tokenizer's count are never drawn).</param>
    /// <param name="probability">Chance that a non-special token is replaced, in (0, 1).</param>
    /// <param name="seed">Seed of the replacement draws.</param>
    public TokenReplacer(TextTokenizer tokenizer, int vocabSize, double probability, long seed)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (probability is not (> 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(probability), probability, "The replacement probability must be in (0, 1).");
        Probability = probability;
        int?[] specialIds = [tokenizer.ClsId, tokenizer.SepId, tokenizer.PadId, tokenizer.UnkId, tokenizer.MaskId];
        var specials = specialIds.Where(id => id is not null).Select(id => id!.Value).ToHashSet();
        var kinds = new long[vocabSize];
        foreach (var (token, id) in tokenizer.Vocabulary)
            if (id < vocabSize) kinds[id] = specials.Contains(id) ? Special : KindOf(token);
        for (var id = tokenizer.Vocabulary.Count; id < vocabSize; id++) kinds[id] = Special;
        var members = Enumerable.Range(0, vocabSize).Where(id => kinds[id] != Special).OrderBy(id => kinds[id]).ThenBy(id => id).ToArray();
        var position = new long[vocabSize];
        var start = new long[KindCount];
        var size = new long[KindCount];
        for (var i = 0; i < members.Length; i++)
        {
            var kind = kinds[members[i]];
            if (size[kind]++ == 0) start[kind] = i;
            position[members[i]] = i - start[kind];
        }
        _kindOf = tensor(kinds);
        _positionInKind = tensor(position);
        _kindStart = tensor(start);
        _kindSize = tensor(size);
        _members = tensor(members.Select(m => (long)m).ToArray());
        _generator = new Generator(unchecked((ulong)seed));
    }

    public double Probability { get; }

    /// <summary>
    /// Corrupts <paramref name="ids"/> (int64 [batch, seq], CPU). Returns the corrupted ids, the labels (1 = replaced,
    /// float) and the positions that carry a loss (every non-special token, replaced or not).
    /// </summary>
    public (Tensor InputIds, Tensor Labels, Tensor Counted) Replace(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var kind = _kindOf[ids];
        var size = _kindSize[kind];
        // A token alone in its kind has nothing to be replaced by; it still counts (as "original").
        var counted = kind.ne(Special);
        var chosen = rand(ids.shape, generator: _generator).lt(Probability).logical_and(counted).logical_and(size.gt(1));
        var offset = rand(ids.shape, generator: _generator).mul(size.sub(1).clamp_min(1)).floor().to(ScalarType.Int64).add(1);
        var replacement = _members[_kindStart[kind].add(_positionInKind[ids].add(offset).remainder(size.clamp_min(1)))];
        var inputs = torch.where(chosen, replacement, ids);
        return (inputs.MoveToOuterDisposeScope(), chosen.to(ScalarType.Float32).MoveToOuterDisposeScope(), counted.MoveToOuterDisposeScope());
    }

    private const long Special = 0;
    private const long KindCount = 5;

    private static long KindOf(string token)
    {
        var continuation = token.StartsWith("##", StringComparison.Ordinal);
        var body = continuation ? token[2..] : token;
        var digits = body.Length > 0 && body.All(char.IsAsciiDigit);
        return (digits, continuation) switch
        {
            (true, false) => 1,
            (true, true) => 2,
            (false, false) => 3,
            (false, true) => 4,
        };
    }

    public void Dispose()
    {
        _kindOf.Dispose();
        _positionInKind.Dispose();
        _kindStart.Dispose();
        _kindSize.Dispose();
        _members.Dispose();
        _generator.Dispose();
    }
}
