using static TorchSharp.torch;

namespace Confer.Models;

/// <summary>Input of a causal language model forward pass.</summary>
/// <param name="InputIds">Token ids, [batch, seq] int64.</param>
/// <param name="AttentionMask">1 for real tokens, 0 for padding, [batch, past+seq]; null means no padding.</param>
/// <param name="Cache">Key/value cache for incremental decoding; null for a full forward pass.</param>
public sealed record CausalLMInput(Tensor InputIds, Tensor? AttentionMask = null, KVCache? Cache = null);

/// <summary>Output of a causal language model forward pass: logits [batch, seq, vocab] (unshifted).</summary>
public sealed record CausalLMOutput(Tensor Logits);
