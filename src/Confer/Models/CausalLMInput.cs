using static TorchSharp.torch;

namespace Confer.Models;

/// <summary>Input of a causal language model forward pass.</summary>
/// <param name="InputIds">Token ids, [batch, seq] int64.</param>
/// <param name="AttentionMask">1 for real tokens, 0 for padding, [batch, past+seq]; null means no padding.</param>
/// <param name="Cache">Key/value cache for incremental decoding; null for a full forward pass.</param>
/// <param name="PositionIds">Packed rows (Hugging Face's padding-free <c>position_ids</c>), [batch, seq] int64: each
/// token's position within its own example, so a 0 starts the next example of the row. Tokens then attend only to
/// earlier tokens of their own example and RoPE sees each example as if it were alone. Null means one sequence per
/// row. Only for a full pass (no cache, no attention mask).</param>
public sealed record CausalLMInput(Tensor InputIds, Tensor? AttentionMask = null, KVCache? Cache = null, Tensor? PositionIds = null);

/// <summary>Output of a causal language model forward pass: logits [batch, seq, vocab] (unshifted).</summary>
public sealed record CausalLMOutput(Tensor Logits);
