using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Confer.Models.Checkpoints;

namespace Confer.Models.Llama;

/// <summary>
/// A LLaMA-family causal language model (LLaMA, Qwen2) with Hugging Face parameter names
/// (<c>model.layers.0.self_attn.q_proj.weight</c> …, <c>lm_head.weight</c> unless embeddings are tied).
/// </summary>
public sealed class LlamaForCausalLM : CausalLanguageModel, ILowPrecisionMatmul
{
    private readonly LlamaModel model;
    private readonly Linear? lm_head;
    private Tensor? _lowPrecisionOutput;

    public LlamaForCausalLM(LlamaConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null)
        : base(nameof(LlamaForCausalLM))
    {
        config.Validate();
        Config = config;
        model = new LlamaModel(config, dtype, device);
        lm_head = config.TieWordEmbeddings ? null : nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false, device: device, dtype: dtype);
        RegisterComponents();
        InitializeWeights(config.InitializerRange);
    }

    /// <summary>
    /// HF's LLaMA initialisation: matrices (projections, embeddings) ~ N(0, initializer_range), biases 0, norms 1.
    /// Torch's defaults (N(0,1) embeddings) would start a tied model with huge logits.
    /// </summary>
    private void InitializeWeights(double std)
    {
        using var _ = no_grad();
        foreach (var (name, p) in named_parameters())
        {
            if (p.dim() == 2) p.normal_(0, std);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
        }
    }

    public LlamaConfig Config { get; }

    /// <summary>
    /// Loads a Hugging Face model folder (<c>config.json</c> + <c>model.safetensors</c> or shards). Every tensor's name
    /// and shape is checked before anything is copied; adapter tensors are never part of a base checkpoint. Callers that
    /// do not know the architecture load through <see cref="ModelFactory"/>.
    /// </summary>
    public static LlamaForCausalLM FromPretrained(string folder, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var configPath = Path.Combine(folder, "config.json");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"No config.json in model folder '{folder}'.", configPath);
        var config = LlamaConfig.Load(configPath);
        var model = new LlamaForCausalLM(config, dtype, device);
        try
        {
            // A tied model has no lm_head tensor of its own; some exporters still write one, which we ignore.
            var skipped = Checkpoint.LoadInto(model, folder,
                ignore: k => IsAdapterKey(k) || IsRotaryBuffer(k) || (config.TieWordEmbeddings && k == "lm_head.weight"));
            model.LoadNotes = Notes(skipped);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        return model;
    }

    /// <summary>
    /// Writes <c>config.json</c> and the base weights (HF names, adapters excluded: merge them first to bake them in,
    /// or save them separately in PEFT format).
    /// </summary>
    public override void SavePretrained(string folder, ScalarType dtype = ScalarType.Float32, long maxShardBytes = 0)
    {
        Directory.CreateDirectory(folder);
        Config.TorchDtype = dtype switch { ScalarType.BFloat16 => "bfloat16", ScalarType.Float16 => "float16", _ => "float32" };
        Config.Save(Path.Combine(folder, "config.json"));
        Checkpoint.Save(this, folder, dtype, maxShardBytes, ignore: IsAdapterKey);
    }

    /// <summary>Tensors of an attached PEFT add-on (LoRA, soft prompt, bottleneck adapters): never part of a base checkpoint.</summary>
    private static bool IsAdapterKey(string key) => Peft.PeftKeys.IsAddOnParameter(key);

    /// <summary>
    /// Older transformers saved RoPE's <c>inv_freq</c> buffers (<c>model.layers.N.self_attn.rotary_emb.inv_freq</c>);
    /// they are derived from config.json, and transformers ignores them on load, so Confer does too.
    /// </summary>
    private static bool IsRotaryBuffer(string key) => key.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal);

    private static IReadOnlyList<string> Notes(IReadOnlyList<string> skipped)
    {
        var notes = new List<string>();
        int rotary = skipped.Count(IsRotaryBuffer);
        if (rotary > 0) notes.Add($"skipped {rotary} rotary_emb.inv_freq buffer(s): RoPE tables are computed from config.json (transformers ignores them too)");
        if (skipped.Contains("lm_head.weight")) notes.Add("skipped lm_head.weight: embeddings are tied (tie_word_embeddings), so the output layer is embed_tokens");
        int adapters = skipped.Count(IsAdapterKey);
        if (adapters > 0) notes.Add($"skipped {adapters} LoRA tensor(s) in the base checkpoint: load adapters from a PEFT folder");
        return notes;
    }

    public override int LayerCount => model.LayerCount;

    public override bool GradientCheckpointing
    {
        get => model.CheckpointLayers;
        set => model.CheckpointLayers = value;
    }

    public override int AttentionHeads => Config.NumAttentionHeads;

    public override Embedding InputEmbeddings => model.Embeddings;

    public override CausalLMOutput forward(CausalLMInput input) => new(OutputLogits(HiddenStates(input)));

    public override Tensor HiddenStates(CausalLMInput input) => model.forward(input);

    // Tied embeddings reuse the input embedding matrix as the output projection (no separate lm_head tensor).
    public override Tensor OutputLogits(Tensor hidden) =>
        _lowPrecisionOutput is not null ? LowPrecisionMatmuls.Linear(hidden, _lowPrecisionOutput, null)
        : lm_head is null ? nn.functional.linear(hidden, model.Embeddings.weight!) : lm_head.forward(hidden);

    // The output layer is the largest frozen product of a LoRA step (vocabulary × hidden); lm_head has no bias.
    bool ILowPrecisionMatmul.UseLowPrecision(ScalarType dtype)
    {
        ((ILowPrecisionMatmul)this).UseFullPrecision();
        _lowPrecisionOutput = LowPrecisionMatmuls.CopyOf(lm_head?.weight ?? model.Embeddings.weight!, dtype);
        return _lowPrecisionOutput is not null;
    }

    void ILowPrecisionMatmul.UseFullPrecision()
    {
        _lowPrecisionOutput?.Dispose();
        _lowPrecisionOutput = null;
    }
}
