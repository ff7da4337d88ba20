using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Confer.Peft.PromptTuning;

/// <summary>
/// The soft-prompt slot of a decoder (prompt tuning, Lester et al., arXiv 2104.08691; FedPrompt, arXiv 2208.12268):
/// empty — no parameters, input returned as is — until a prompt of L virtual tokens is attached; then
/// <see cref="Prepend"/> puts its L × d embedding matrix (<c>embedding.weight</c>) before every sequence's token
/// embeddings, as PEFT's <c>PeftModelForCausalLM</c> does with <c>inputs_embeds</c>. Attaching registers a child
/// module and detaching removes it, so a model without a prompt has exactly its base parameters.
/// </summary>
public sealed class SoftPrompt : nn.Module<Tensor, Tensor>
{
    private Embedding? embedding;

    public SoftPrompt() : base(nameof(SoftPrompt))
    {
        RegisterComponents();
    }

    /// <summary>Virtual tokens L (0 when no prompt is attached).</summary>
    public int VirtualTokens => embedding is null ? 0 : (int)embedding.weight!.shape[0];

    public bool IsAttached => embedding is not null;

    /// <summary>The prompt, L × d (PEFT's <c>prompt_embeddings</c>).</summary>
    public Parameter Weight => embedding?.weight ?? throw new InvalidOperationException("No soft prompt attached.");

    /// <summary>Attaches a trainable prompt initialised with a copy of <paramref name="initial"/> (L × d), on <paramref name="device"/> in <paramref name="dtype"/>.</summary>
    public void Attach(Tensor initial, ScalarType dtype, Device device)
    {
        if (initial.dim() != 2 || initial.shape[0] < 1)
            throw new ArgumentException($"A soft prompt is L × d with L ≥ 1; got [{string.Join(",", initial.shape)}].", nameof(initial));
        Detach();
        embedding = nn.Embedding(initial.shape[0], initial.shape[1], device: device, dtype: dtype);
        using (no_grad()) embedding.weight!.copy_(initial);
        register_module("embedding", embedding);
        embedding.train(training);
    }

    public void Detach()
    {
        if (embedding is null) return;
        register_module("embedding", null!);
        embedding.Dispose();
        embedding = null;
    }

    /// <summary>[batch, L + seq, d]: the prompt before the token embeddings [batch, seq, d]; the embeddings themselves when empty.</summary>
    public Tensor Prepend(Tensor tokenEmbeddings)
    {
        if (embedding is null) return tokenEmbeddings;
        var prompt = embedding.weight!.to(tokenEmbeddings.dtype).unsqueeze(0).expand(tokenEmbeddings.shape[0], -1, -1);
        return cat([prompt, tokenEmbeddings], 1);
    }

    public override Tensor forward(Tensor tokenEmbeddings) => Prepend(tokenEmbeddings);
}
