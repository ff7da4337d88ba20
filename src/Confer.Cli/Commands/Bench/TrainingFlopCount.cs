namespace Confer.Cli.Commands.Bench;

/// <summary>
/// FLOPs per trained token of a LoRA step, by parts. The count (stated in docs/performance.md):
/// <list type="bullet">
/// <item>frozen linear weights, lm_head included: 4·N per token — forward 2N plus the backward input gradient 2N; a
/// frozen weight gets no weight gradient;</item>
/// <item>attention scores and mixing: forward 4·seq·d per layer per token (QKᵀ 2·seq·d and P·V 2·seq·d, counted over
/// the full sequence although the causal kernel may skip the upper half), backward twice that, so 12·seq·d per
/// layer per token in all;</item>
/// <item>LoRA: 6·Σ r·(d_in + d_out) per token — forward, input gradient and weight gradient, 2 each per parameter.</item>
/// </list>
/// Element-wise work (norms, SiLU, softmax, RoPE, cross-entropy, AdamW) is not counted: it is memory-bound, so it
/// shows up as lost efficiency rather than as FLOPs.
/// </summary>
internal sealed record TrainingFlopCount(double FrozenLinear, double LmHead, double Attention, double Lora)
{
    public double Total => FrozenLinear + LmHead + Attention + Lora;

    public static TrainingFlopCount For(BenchModel model, int loraRank)
    {
        var c = model.Config;
        double layerWeights = model.LayerLinears.Sum(l => (double)l.In * l.Out);
        double layerLora = model.LayerLinears.Sum(l => (double)loraRank * (l.In + l.Out));
        double attentionWidth = c.NumAttentionHeads * c.HeadDim;
        return new TrainingFlopCount(
            FrozenLinear: 4 * layerWeights * c.NumHiddenLayers,
            LmHead: 4.0 * c.VocabSize * c.HiddenSize,
            Attention: 12.0 * model.Sequence * attentionWidth * c.NumHiddenLayers,
            Lora: 6 * layerLora * c.NumHiddenLayers);
    }

    /// <summary>
    /// FLOPs a step needs for what it trained on: the per-token parts for every real (non-pad) token, attention at each
    /// example's own length, and lm_head only where a label is. Padding, and logits nobody reads, are not needed work.
    /// </summary>
    public double Needed(TrainingBenchStep step, BenchModel model) =>
        step.RealTokens * (FrozenLinear + Lora) + step.SquaredLengths * (Attention / model.Sequence) + step.Targets * LmHead;

    public override string ToString() =>
        $"{Total / 1e6:F1} MFLOP/token = frozen linear {FrozenLinear / 1e6:F1} + lm_head {LmHead / 1e6:F1} + attention {Attention / 1e6:F1} + LoRA {Lora / 1e6:F2}";
}
