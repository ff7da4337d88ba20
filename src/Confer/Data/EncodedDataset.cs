namespace Confer.Data;

/// <summary>The examples an encoder produced and what truncation did to the records.</summary>
/// <param name="Examples">Examples kept, in record order.</param>
/// <param name="Total">Records encoded.</param>
/// <param name="Truncated">Kept examples that lost tokens to the cut-off (including their EOS).</param>
/// <param name="Dropped">Records skipped because the cut-off removed their whole response.</param>
public sealed record EncodedDataset(IReadOnlyList<TokenizedExample> Examples, int Total, int Truncated, int Dropped);
