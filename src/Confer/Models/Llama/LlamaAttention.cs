using Confer.Peft;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Models.Llama;

/// <summary>
/// Grouped-query self-attention with RoPE, using libtorch's fused scaled-dot-product attention. Key/value heads are
/// repeated to match the query heads; a KV cache makes decoding incremental.
/// </summary>
internal sealed class LlamaAttention : nn.Module<Tensor, Tensor>
{
    private readonly LoraLinear q_proj;
    private readonly LoraLinear k_proj;
    private readonly LoraLinear v_proj;
    private readonly LoraLinear o_proj;
    private readonly int _heads;
    private readonly int _kvHeads;
    private readonly int _headDim;
    private readonly int _layerIndex;

    public LlamaAttention(LlamaConfig config, int layerIndex, ScalarType dtype, Device? device) : base(nameof(LlamaAttention))
    {
        _heads = config.NumAttentionHeads;
        _kvHeads = config.KeyValueHeads;
        _headDim = config.HeadDim;
        _layerIndex = layerIndex;
        q_proj = new LoraLinear(config.HiddenSize, _heads * _headDim, config.QkvBias, dtype, device);
        k_proj = new LoraLinear(config.HiddenSize, _kvHeads * _headDim, config.QkvBias, dtype, device);
        v_proj = new LoraLinear(config.HiddenSize, _kvHeads * _headDim, config.QkvBias, dtype, device);
        o_proj = new LoraLinear(_heads * _headDim, config.HiddenSize, false, dtype, device);
        RegisterComponents();
    }

    /// <summary>Set by the owning model before each call: RoPE tables, cache and mask for this pass.</summary>
    internal AttentionContext? Context { get; set; }

    public override Tensor forward(Tensor hidden)
    {
        var ctx = Context ?? throw new InvalidOperationException("Attention called without a context.");
        // Projections before RoPE, RoPE's own terms and the other intermediates die with this call (the KV cache keeps
        // its own tensors); only the output moves on.
        using var scope = NewDisposeScope();
        var (batch, seq) = (hidden.shape[0], hidden.shape[1]);
        var q = q_proj.forward(hidden).view(batch, seq, _heads, _headDim).transpose(1, 2);
        var k = k_proj.forward(hidden).view(batch, seq, _kvHeads, _headDim).transpose(1, 2);
        var v = v_proj.forward(hidden).view(batch, seq, _kvHeads, _headDim).transpose(1, 2);
        q = ctx.Rope.Apply(q, ctx.PastLength, ctx.Positions);
        k = ctx.Rope.Apply(k, ctx.PastLength, ctx.Positions);
        if (ctx.Cache is not null) (k, v) = ctx.Cache.Append(_layerIndex, k, v);
        if (_kvHeads != _heads)
        {
            k = k.repeat_interleave(_heads / _kvHeads, dim: 1);
            v = v.repeat_interleave(_heads / _kvHeads, dim: 1);
        }
        var attended = nn.functional.scaled_dot_product_attention(q, k, v, ctx.Mask, is_casual: ctx.Mask is null && seq > 1);
        return o_proj.forward(attended.transpose(1, 2).reshape(batch, seq, _heads * _headDim)).MoveToOuterDisposeScope();
    }
}

/// <summary>Per-pass inputs shared by all attention layers.</summary>
internal sealed record AttentionContext(RotaryEmbedding Rope, long PastLength, KVCache? Cache, Tensor? Mask, Tensor? Positions);
