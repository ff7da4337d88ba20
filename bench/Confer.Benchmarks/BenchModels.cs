using Confer.Models.Llama;
using Confer.Peft;
using static TorchSharp.torch;

namespace Confer.Benchmarks;

/// <summary>The benchmark model shapes (the same as <c>confer bench</c>'s configs S and M) with LoRA r = 8 on every linear layer.</summary>
internal static class BenchModels
{
    public static LlamaConfig S => new()
    {
        VocabSize = 4096, HiddenSize = 256, NumHiddenLayers = 4, NumAttentionHeads = 4, NumKeyValueHeads = 4, IntermediateSize = 688,
        MaxPositionEmbeddings = 1024, RmsNormEps = 1e-5,
    };

    public static LlamaConfig M => new()
    {
        VocabSize = 32000, HiddenSize = 512, NumHiddenLayers = 8, NumAttentionHeads = 8, NumKeyValueHeads = 8, IntermediateSize = 1376,
        MaxPositionEmbeddings = 1024, RmsNormEps = 1e-5,
    };

    /// <summary>A seeded, randomly initialised model with a fresh LoRA r = 8 adapter on q, k, v, o, gate, up and down.</summary>
    public static LlamaForCausalLM WithLora(LlamaConfig config, long seed = 42)
    {
        manual_seed(seed);
        var model = new LlamaForCausalLM(config);
        LoraModel.Attach(model, new LoraConfig { Rank = 8, Alpha = 16, Dropout = 0, TargetModules = [.. LoraConfig.LlamaAllLinear] });
        return model;
    }
}
