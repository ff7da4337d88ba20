using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Confer.Models.Llama;

/// <summary>
/// A LLaMA-family causal language model (LLaMA, Qwen2) with Hugging Face parameter names
/// (<c>model.layers.0.self_attn.q_proj.weight</c> …, <c>lm_head.weight</c> unless embeddings are tied).
/// </summary>
public sealed class LlamaForCausalLM : nn.Module<CausalLMInput, CausalLMOutput>
{
    private readonly LlamaModel model;
    private readonly Linear? lm_head;

    public LlamaForCausalLM(LlamaConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null)
        : base(nameof(LlamaForCausalLM))
    {
        config.Validate();
        Config = config;
        model = new LlamaModel(config, dtype, device);
        lm_head = config.TieWordEmbeddings ? null : nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false, device: device, dtype: dtype);
        RegisterComponents();
    }

    public LlamaConfig Config { get; }

    public int LayerCount => model.LayerCount;

    public override CausalLMOutput forward(CausalLMInput input)
    {
        var hidden = model.forward(input);
        // Tied embeddings reuse the input embedding matrix as the output projection (no separate lm_head tensor).
        var logits = lm_head is null
            ? nn.functional.linear(hidden, model.Embeddings.weight!)
            : lm_head.forward(hidden);
        return new CausalLMOutput(logits);
    }
}
