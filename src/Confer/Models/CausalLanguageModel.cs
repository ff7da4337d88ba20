using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Models;

/// <summary>
/// A decoder-only language model Confer trains, federates, evaluates and serves: token ids in, next-token logits out,
/// with Hugging Face parameter names so that checkpoints and PEFT adapters load as they do in Python. Every
/// architecture is one subclass plus one <see cref="ModelFactory"/> registration.
/// </summary>
public abstract class CausalLanguageModel(string name) : nn.Module<CausalLMInput, CausalLMOutput>(name), IPretrainedModel
{
    /// <summary>What loading left out of the checkpoint and why (e.g. derived RoPE buffers); empty for a model built from a config.</summary>
    public IReadOnlyList<string> LoadNotes { get; protected set; } = [];

    /// <summary>Decoder layers, each with its own key/value cache slot during generation.</summary>
    public abstract int LayerCount { get; }

    /// <summary>The decoder's final hidden states, [batch, seq, hidden], before the output layer. Together with
    /// <see cref="OutputLogits"/> it is <c>forward</c>; training uses the two halves to run the output layer only at
    /// positions that carry a label.</summary>
    public abstract Tensor HiddenStates(CausalLMInput input);

    /// <summary>The output layer (lm_head, or the tied embedding matrix) on hidden states of any leading shape.</summary>
    public abstract Tensor OutputLogits(Tensor hidden);

    /// <summary>
    /// Activation checkpointing per decoder layer, as Hugging Face's <c>gradient_checkpointing_enable()</c>: a training
    /// forward keeps only each layer's input and backward recomputes the layer, trading about one more forward pass for
    /// the activation memory. Gradients are unchanged. An architecture that cannot checkpoint refuses to turn it on.
    /// </summary>
    public virtual bool GradientCheckpointing
    {
        get => false;
        set
        {
            if (value) throw new NotSupportedException($"{GetType().Name} does not support activation checkpointing.");
        }
    }

    /// <summary>Query heads per attention layer (recorded in PEFT prompt-learning configs).</summary>
    public abstract int AttentionHeads { get; }

    /// <summary>The token embedding table, vocab × d (HF <c>get_input_embeddings()</c>).</summary>
    public abstract TorchSharp.Modules.Embedding InputEmbeddings { get; }

    /// <summary>Writes <c>config.json</c> and the base weights (HF names, adapters excluded).</summary>
    public abstract void SavePretrained(string folder, ScalarType dtype = ScalarType.Float32, long maxShardBytes = 0);

    void IPretrainedModel.SavePretrained(string folder) => SavePretrained(folder);
}
