using Confer.Models;
using Confer.Peft;
using Confer.Tokenizers;
using Confer.Training.Generation;
using static TorchSharp.torch;

namespace Confer.Reasoning.Actors;

/// <summary>
/// A Confer causal LM in this process as the actor: the N samples of a prompt decode as one batch through
/// <see cref="CompletionGenerator"/>, sample i from its own generator seeded
/// <see cref="CompletionGenerator.ChoiceSeed"/>(seed, i) — the same path <c>confer serve</c> answers
/// <c>/v1/completions</c> through, so the two give the same text for the same prompt and sampling. Calls take turns
/// on the model (a TorchSharp module is not thread-safe).
/// </summary>
public sealed class ConferModelActor : IReasoningActor, IDisposable
{
    private readonly CompletionGenerator _generator;
    private readonly CausalLanguageModel? _owned;
    private readonly SemaphoreSlim _turn = new(1, 1);

    /// <summary>An actor over a model the caller owns (and keeps alive).</summary>
    /// <param name="model">The causal LM, with any adapter already attached.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="name">What the actor is, for logs and cache keys.</param>
    public ConferModelActor(CausalLanguageModel model, TextTokenizer tokenizer, string name)
        : this(model, tokenizer, name, owned: false)
    {
    }

    private ConferModelActor(CausalLanguageModel model, TextTokenizer tokenizer, string name, bool owned)
    {
        _generator = new CompletionGenerator(model, tokenizer);
        _owned = owned ? model : null;
        Name = name;
    }

    public string Name { get; }

    /// <summary>Loads a model folder (and a PEFT adapter on top) as an actor that owns the model.</summary>
    /// <param name="modelFolder">HF model folder.</param>
    /// <param name="adapterFolder">PEFT adapter folder, or null.</param>
    /// <param name="device">Where to run; CPU when null.</param>
    public static ConferModelActor Load(string modelFolder, string? adapterFolder = null, Device? device = null)
    {
        var tokenizer = TextTokenizer.FromPretrained(modelFolder);
        var model = ModelFactory.LoadCausalLM(modelFolder, device: device);
        try
        {
            if (adapterFolder is not null) PeftAdapter.Load(adapterFolder, model);
            var name = $"confer:{Path.GetFullPath(modelFolder)}" + (adapterFolder is null ? "" : $"+{Path.GetFullPath(adapterFolder)}");
            return new ConferModelActor(model, tokenizer, name, owned: true);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public async Task<IReadOnlyList<string>> SampleAsync(string prompt, ActorSampling sampling, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var options = SamplingOptions.From(sampling);
        await _turn.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return [.. _generator.Generate([_generator.Encode(prompt)], sampling.N, options, ct: ct).Select(c => c.Text)];
        }
        finally
        {
            _turn.Release();
        }
    }

    public void Dispose()
    {
        _owned?.Dispose();
        _turn.Dispose();
    }
}
