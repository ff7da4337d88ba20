using Confer.Peft.PromptTuning;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Confer.Models.Llama;

/// <summary>
/// The decoder stack: token embeddings, N decoder layers, final RMSNorm (HF <c>model.*</c> names), and a soft-prompt
/// slot (<c>prompt_encoder</c>) that is empty unless prompt tuning attaches one.
/// </summary>
internal sealed class LlamaModel : nn.Module<CausalLMInput, Tensor>
{
    private readonly Embedding embed_tokens;
    private readonly ModuleList<LlamaDecoderLayer> layers;
    private readonly RMSNorm norm;
    private readonly SoftPrompt prompt_encoder = new();
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

    /// <summary>Recompute each decoder layer in backward instead of keeping its activations (<see cref="LayerCheckpoint"/>).</summary>
    public bool CheckpointLayers { get; set; }

    /// <summary>
    /// Hidden states [batch, seq, d] for the input's tokens. With a soft prompt attached, the pass that starts a
    /// sequence (no cache yet) runs L virtual tokens before the real ones, as PEFT prompt tuning does: they take
    /// positions 0…L−1, every real token attends to them, the attention mask gets L leading ones, and a cache keeps
    /// them for later steps. Their own outputs are dropped, so the result lines up with the input ids (PEFT returns
    /// them and masks their labels with −100; the loss is the same).
    /// </summary>
    public override Tensor forward(CausalLMInput input)
    {
        var ids = input.InputIds;
        var past = input.Cache?.Length ?? 0;
        var virtualTokens = prompt_encoder.VirtualTokens;
        var h = embed_tokens.forward(ids);
        var attentionMask = input.AttentionMask;
        if (virtualTokens > 0)
        {
            if (past == 0) h = prompt_encoder.Prepend(h);
            if (attentionMask is not null)
                attentionMask = cat([ones(attentionMask.shape[0], virtualTokens, dtype: attentionMask.dtype, device: attentionMask.device), attentionMask], 1);
        }
        var (mask, positions) = input.PositionIds is { } packed
            ? PackedMask(packed, input, virtualTokens, _window)
            : BuildMask(attentionMask, h.shape[0], h.shape[1], past, _window, ids.device);
        var ctx = new AttentionContext(_rope, past, input.Cache, mask, positions);
        // Checkpoint only a pass that builds a graph: evaluation and decoding keep nothing for backward anyway.
        var checkpoint = CheckpointLayers && is_grad_enabled();
        foreach (var layer in layers)
        {
            layer.Attention.Context = ctx;
            h = checkpoint ? LayerCheckpoint.Run(layer, h, ctx) : layer.forward(h);
            layer.Attention.Context = null;
        }
        var added = h.shape[1] - ids.shape[1];
        return norm.forward(added > 0 ? h.narrow(1, added, ids.shape[1]) : h);
    }

    /// <summary>
    /// The mask and positions of packed rows: a 0 in <paramref name="positionIds"/> starts a new example, so the mask
    /// is block-diagonal and causal (query i sees key j ≤ i of its own example, within the sliding window if any), and
    /// RoPE gets each example's own positions. A pad that is given position 0 is an example of one token that sees only
    /// itself, so its row stays finite. Built only for packed input: the unpacked path keeps the fused causal kernel.
    /// </summary>
    private static (Tensor Mask, Tensor Positions) PackedMask(Tensor positionIds, CausalLMInput input, long virtualTokens, int? window)
    {
        if (input.Cache is not null || input.AttentionMask is not null)
            throw new ArgumentException("position_ids (packed rows) are for a full forward pass: give neither a KV cache nor an attention mask with them.");
        if (virtualTokens > 0)
            throw new ArgumentException("position_ids (packed rows) cannot be combined with a soft prompt: its virtual tokens would belong to the first example only. Train prompt tuning unpacked.");
        if (!positionIds.shape.SequenceEqual(input.InputIds.shape))
            throw new ArgumentException($"position_ids has shape [{string.Join(", ", positionIds.shape)}] but input_ids has [{string.Join(", ", input.InputIds.shape)}].");
        var seq = positionIds.shape[1];
        var device = positionIds.device;
        var example = positionIds.eq(0).to_type(ScalarType.Int64).cumsum(1);
        var sameExample = example.unsqueeze(2).eq(example.unsqueeze(1));
        var queryPos = arange(seq, device: device).unsqueeze(1);
        var keyPos = arange(seq, device: device).unsqueeze(0);
        var allowed = keyPos.le(queryPos);
        if (window is { } w && seq > w) allowed = allowed.logical_and(keyPos.gt(queryPos - w));
        return (sameExample.logical_and(allowed.unsqueeze(0)).unsqueeze(1), positionIds);
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
