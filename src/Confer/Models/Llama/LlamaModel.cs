using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Confer.Models.Llama;

/// <summary>The decoder stack: token embeddings, N decoder layers, final RMSNorm (HF <c>model.*</c> names).</summary>
internal sealed class LlamaModel : nn.Module<CausalLMInput, Tensor>
{
    private readonly Embedding embed_tokens;
    private readonly ModuleList<LlamaDecoderLayer> layers;
    private readonly RMSNorm norm;
    private readonly RotaryEmbedding _rope;
    private readonly int? _window;

    public LlamaModel(LlamaConfig config, ScalarType dtype, Device? device) : base(nameof(LlamaModel))
    {
        embed_tokens = nn.Embedding(config.VocabSize, config.HiddenSize, device: device, dtype: dtype);
        layers = new ModuleList<LlamaDecoderLayer>();
        for (var i = 0; i < config.NumHiddenLayers; i++) layers.Add(new LlamaDecoderLayer(config, i, dtype, device));
        norm = new RMSNorm(config.HiddenSize, config.RmsNormEps, dtype, device);
        RegisterComponents();
        // Assigned after RegisterComponents: RoPE tables are derived, not weights.
        _rope = new RotaryEmbedding(config.HeadDim, config.MaxPositionEmbeddings, config.RopeTheta, config.Rope, device);
        _window = config.AttentionWindow;
    }

    public Embedding Embeddings => embed_tokens;

    public int LayerCount => layers.Count;

    public override Tensor forward(CausalLMInput input)
    {
        var ids = input.InputIds;
        var past = input.Cache?.Length ?? 0;
        var (mask, positions) = BuildMask(input.AttentionMask, ids.shape[0], ids.shape[1], past, _window, ids.device);
        var ctx = new AttentionContext(_rope, past, input.Cache, mask, positions);
        var h = embed_tokens.forward(ids);
        foreach (var layer in layers)
        {
            layer.Attention.Context = ctx;
            h = layer.forward(h);
            layer.Attention.Context = null;
        }
        return norm.forward(h);
    }

    /// <summary>
    /// Without padding, fused causal attention needs no mask: without a cache it is causal, and a single new token after
    /// a cache (a decode step) may see every cached key. Otherwise build a boolean mask
    /// [batch, 1, seq, past+seq] (causal ∧ key is not padding ∧ key within the sliding window) and per-sequence positions
    /// so that left-padded batches give the same result as each sequence alone. Each query may always see itself, so
    /// padded rows stay finite. A window of W keys lets query i see keys j with i − W &lt; j ≤ i (transformers' Mistral).
    /// </summary>
    private static (Tensor? Mask, Tensor? Positions) BuildMask(Tensor? attentionMask, long batch, long seq, long past, int? window, Device device)
    {
        var total = past + seq;
        bool windowed = window is { } w && total > w;
        if (attentionMask is null && !windowed && (past == 0 || seq == 1)) return (null, null);
        var queryPos = arange(past, total, device: device).unsqueeze(1);
        var keyPos = arange(total, device: device).unsqueeze(0);
        var allowed = keyPos.le(queryPos);
        if (windowed) allowed = allowed.logical_and(keyPos.gt(queryPos - window!.Value));
        var mask = allowed.unsqueeze(0).unsqueeze(0).expand(batch, 1, seq, total);
        Tensor? positions = null;
        if (attentionMask is not null)
        {
            if (attentionMask.shape[1] != total)
                throw new ArgumentException($"attention_mask covers {attentionMask.shape[1]} positions but the pass needs {total} (past {past} + new {seq}).");
            var keep = attentionMask.to_type(ScalarType.Bool);
            mask = mask.logical_and(keep.unsqueeze(1).unsqueeze(1)).logical_or(keyPos.eq(queryPos).unsqueeze(0).unsqueeze(0));
            positions = (attentionMask.to_type(ScalarType.Int64).cumsum(1) - 1).clamp_min(0).narrow(1, past, seq);
        }
        return (mask, positions);
    }
}
