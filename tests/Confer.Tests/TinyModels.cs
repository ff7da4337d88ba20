using Confer.Models.Llama;
using static TorchSharp.torch;

namespace Confer.Tests;

/// <summary>Small real model configurations for fast tests.</summary>
internal static class TinyModels
{
    public static LlamaConfig LlamaConfig(int vocab = 97, int hidden = 32, int layers = 2, int heads = 4, int kvHeads = 2, bool tied = false, string arch = "LlamaForCausalLM") => new()
    {
        Architectures = [arch],
        VocabSize = vocab,
        HiddenSize = hidden,
        IntermediateSize = hidden * 2 + 8,
        NumHiddenLayers = layers,
        NumAttentionHeads = heads,
        NumKeyValueHeads = kvHeads,
        MaxPositionEmbeddings = 128,
        RmsNormEps = 1e-5,
        TieWordEmbeddings = tied,
    };

    public static LlamaForCausalLM Llama(long seed = 1, bool tied = false, string arch = "LlamaForCausalLM")
    {
        manual_seed(seed);
        var model = new LlamaForCausalLM(LlamaConfig(tied: tied, arch: arch));
        model.eval();
        return model;
    }

    public static Tensor RandomIds(long seed, long batch, long seq, int vocab = 97)
    {
        var g = new Generator((ulong)seed);
        return randint(0, vocab, [batch, seq], generator: g, dtype: ScalarType.Int64);
    }
}

internal static class TinyBert
{
    public static Confer.Models.Bert.BertConfig Config() => new()
    {
        VocabSize = 120, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 64,
        MaxPositionEmbeddings = 64, NumLabelsRaw = 1, HiddenDropout = 0, AttentionDropout = 0,
    };
}
