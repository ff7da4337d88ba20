using System.Text.Json;
using Confer.Models;
using Confer.Peft;
using Confer.Tokenizers;
using Confer.Training.Generation;

namespace Confer.Serving;

/// <summary>The one model a <c>confer serve</c> process serves: weights (with an optional adapter), tokenizer, chat format and limits.</summary>
public sealed class ServedModel : IDisposable
{
    private readonly CausalLanguageModel _model;

    private ServedModel(CausalLanguageModel model, TextTokenizer tokenizer, string name, int? contextLength, IChatFormat chat)
    {
        _model = model;
        Generator = new CompletionGenerator(model, tokenizer);
        Name = name;
        ContextLength = contextLength;
        Chat = chat;
    }

    /// <summary>The model id of requests and <c>/v1/models</c>.</summary>
    public string Name { get; }

    /// <summary>Prompt plus completion tokens the model can attend over (config.json max_position_embeddings), when known.</summary>
    public int? ContextLength { get; }

    public IChatFormat Chat { get; }

    /// <summary>Not thread-safe: one request at a time (<see cref="GenerationGate"/>).</summary>
    public CompletionGenerator Generator { get; }

    /// <summary>Loads what <paramref name="settings"/> names; a missing or mismatched file fails here, before the port opens.</summary>
    public static ServedModel Load(ServeSettings settings)
    {
        var tokenizer = TextTokenizer.FromPretrained(settings.Model);
        var chat = ChatFormats.For(settings.Template);
        var model = ModelFactory.LoadCausalLM(settings.Model, device: Runtime.DeviceSelector.Parse(settings.Device));
        try
        {
            if (settings.Adapter is { } adapter) PeftAdapter.Load(adapter, model);
            model.eval();
            var name = settings.Name ?? new DirectoryInfo(Path.GetFullPath(settings.Model)).Name;
            return new ServedModel(model, tokenizer, name, ReadContextLength(settings.Model), chat);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public void Dispose() => _model.Dispose();

    /// <summary>HF's max_position_embeddings: a longer sequence has no position embedding (RoPE table) to use.</summary>
    private static int? ReadContextLength(string folder)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "config.json")));
        return doc.RootElement.TryGetProperty("max_position_embeddings", out var v) && v.TryGetInt32(out var n) && n > 0 ? n : null;
    }
}
