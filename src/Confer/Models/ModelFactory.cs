using System.Text.Json;
using Confer.Models.Bert;
using Confer.Models.Llama;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Models;

/// <summary>
/// The one place that turns a Hugging Face model folder into a module: it reads <c>config.json</c>'s
/// <c>architectures</c> (or, without one, its <c>model_type</c>) and calls the loader registered for it. Simulation,
/// server, client, generation and the CLI all load models here, so adding an architecture is one new class and one
/// <see cref="Register"/> call.
/// </summary>
public static class ModelFactory
{
    private static readonly List<ModelArchitecture> Registered =
    [
        new("LlamaForCausalLM", "llama", ModelKind.CausalLM, (folder, dtype, device) => LlamaForCausalLM.FromPretrained(folder, dtype, device)),
        new("Qwen2ForCausalLM", "qwen2", ModelKind.CausalLM, (folder, dtype, device) => LlamaForCausalLM.FromPretrained(folder, dtype, device)),
        new("MistralForCausalLM", "mistral", ModelKind.CausalLM, (folder, dtype, device) => LlamaForCausalLM.FromPretrained(folder, dtype, device)),
        new("BertForSequenceClassification", "bert", ModelKind.Encoder, (folder, _, device) => BertForSequenceClassification.FromPretrained(folder, device)),
        new("BertModel", null, ModelKind.Encoder, (folder, _, device) => BertForSequenceClassification.FromPretrained(folder, device)),
        new("BertForMaskedLM", null, ModelKind.Encoder, (folder, _, device) => BertForSequenceClassification.FromPretrained(folder, device)),
        new("BertForPreTraining", null, ModelKind.Encoder, (folder, _, device) => BertForSequenceClassification.FromPretrained(folder, device)),
    ];

    /// <summary>Every registered architecture, in registration order.</summary>
    public static IReadOnlyList<ModelArchitecture> Architectures
    {
        get
        {
            lock (Registered) return [.. Registered];
        }
    }

    /// <summary>Adds an architecture; an <c>architectures</c> name already registered is refused.</summary>
    public static void Register(ModelArchitecture architecture)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentException.ThrowIfNullOrWhiteSpace(architecture.Name);
        lock (Registered)
        {
            if (Registered.Any(a => a.Name == architecture.Name))
                throw new ArgumentException($"An architecture named '{architecture.Name}' is already registered.", nameof(architecture));
            Registered.Add(architecture);
        }
    }

    /// <summary>Loads the causal LM in <paramref name="folder"/> (weights checked tensor by tensor), in eval mode.</summary>
    public static CausalLanguageModel LoadCausalLM(string folder, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        (CausalLanguageModel)Find(folder, ModelKind.CausalLM).Load(folder, dtype, device);

    /// <summary>Loads the encoder with a sequence-classification head in <paramref name="folder"/> (the head is new when the checkpoint has none).</summary>
    public static BertForSequenceClassification LoadEncoder(string folder, Device? device = null) =>
        (BertForSequenceClassification)Find(folder, ModelKind.Encoder).Load(folder, ScalarType.Float32, device);

    /// <summary>
    /// Loads the encoder in <paramref name="folder"/> (any registered encoder architecture) with a classification head of
    /// <paramref name="numLabels"/> outputs, e.g. FedCoT's one-score discriminator on a masked-LM checkpoint whose config
    /// says nothing about labels.
    /// </summary>
    public static BertForSequenceClassification LoadEncoder(string folder, int numLabels, Device? device = null)
    {
        Find(folder, ModelKind.Encoder);
        return BertForSequenceClassification.FromPretrained(folder, device, numLabels);
    }

    /// <summary>The registration that matches the folder's config.json, or an error naming the folder and what is supported.</summary>
    public static ModelArchitecture Find(string folder, ModelKind kind)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Model folder '{folder}' does not exist.");
        var path = Path.Combine(folder, "config.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"No config.json in model folder '{folder}'.", path);
        var (architectures, modelType) = ReadIdentity(path);
        var candidates = Architectures.Where(a => a.Kind == kind).ToList();
        var match = architectures.Count > 0
            ? candidates.FirstOrDefault(a => architectures.Contains(a.Name))
            : candidates.FirstOrDefault(a => a.ModelType is not null && a.ModelType == modelType);
        if (match is not null) return match;
        var what = architectures.Count > 0 ? $"architectures [{string.Join(", ", architectures)}]" : $"model_type '{modelType ?? "(none)"}'";
        throw new NotSupportedException(
            $"{path}: {what} is not a supported {(kind == ModelKind.CausalLM ? "causal language model" : "encoder")}; supported: {string.Join(", ", candidates.Select(a => a.Name))}.");
    }

    private static (IReadOnlyList<string> Architectures, string? ModelType) ReadIdentity(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            var architectures = root.TryGetProperty("architectures", out var a) && a.ValueKind == JsonValueKind.Array
                ? a.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList()
                : [];
            var modelType = root.TryGetProperty("model_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            return (architectures, modelType);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e);
        }
    }
}

/// <summary>What a registered architecture is for.</summary>
public enum ModelKind
{
    /// <summary>A decoder that predicts the next token (<see cref="CausalLanguageModel"/>).</summary>
    CausalLM,

    /// <summary>A bidirectional encoder with a classification head (FedCoT's discriminator).</summary>
    Encoder,
}

/// <summary>One loadable architecture: the <c>architectures</c> entry of config.json it answers to, and how to load it.</summary>
/// <param name="Name">The HF class name in <c>architectures</c>, e.g. <c>LlamaForCausalLM</c>.</param>
/// <param name="ModelType">The <c>model_type</c> it answers to when config.json lists no architectures (null = never).</param>
/// <param name="Kind">Causal LM or encoder.</param>
/// <param name="Load">Loads a folder: (folder, dtype, device) → module.</param>
public sealed record ModelArchitecture(string Name, string? ModelType, ModelKind Kind, Func<string, ScalarType, Device?, nn.Module> Load);
