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

    /// <summary>Writes <c>config.json</c> and the base weights (HF names, adapters excluded).</summary>
    public abstract void SavePretrained(string folder, ScalarType dtype = ScalarType.Float32, long maxShardBytes = 0);

    void IPretrainedModel.SavePretrained(string folder) => SavePretrained(folder);
}
