using System.Text.Json;
using System.Text.Json.Serialization;
using Confer.Runtime;

namespace Confer.Models.Bert;

/// <summary>Hyper-parameters of a BERT encoder, read from and written to a Hugging Face <c>config.json</c>.</summary>
public sealed class BertConfig
{
    public static readonly IReadOnlyList<string> SupportedArchitectures = ["BertModel", "BertForSequenceClassification", "BertForMaskedLM", "BertForPreTraining"];

    [JsonPropertyName("architectures")] public List<string> Architectures { get; set; } = ["BertForSequenceClassification"];
    [JsonPropertyName("model_type")] public string ModelType { get; set; } = "bert";
    [JsonPropertyName("vocab_size")] public int VocabSize { get; set; } = 30522;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; set; } = 768;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; set; } = 12;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; set; } = 12;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; set; } = 3072;
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; set; } = "gelu";
    [JsonPropertyName("hidden_dropout_prob")] public double HiddenDropout { get; set; } = 0.1;
    [JsonPropertyName("attention_probs_dropout_prob")] public double AttentionDropout { get; set; } = 0.1;
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; set; } = 512;
    [JsonPropertyName("type_vocab_size")] public int TypeVocabSize { get; set; } = 2;
    [JsonPropertyName("layer_norm_eps")] public double LayerNormEps { get; set; } = 1e-12;
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; set; } = 0.02;
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; set; }
    [JsonPropertyName("num_labels")] public int? NumLabelsRaw { get; set; }
    [JsonPropertyName("id2label")] public Dictionary<string, string>? Id2Label { get; set; }
    [JsonPropertyName("torch_dtype")] public string TorchDtype { get; set; } = "float32";

    /// <summary>HF derives the label count from <c>id2label</c> when <c>num_labels</c> is absent; default 2.</summary>
    [JsonIgnore] public int NumLabels => NumLabelsRaw ?? Id2Label?.Count ?? 2;

    private static readonly JsonSerializerOptions WriteOptions = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static BertConfig Load(string path)
    {
        var config = HfConfigJson.Read<BertConfig>(path);
        config.Validate(path);
        return config;
    }

    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, WriteOptions));

    public void Validate(string source = "config")
    {
        var arch = Architectures.FirstOrDefault() ?? "BertModel";
        if (!SupportedArchitectures.Contains(arch))
            throw new NotSupportedException($"{source}: architecture '{arch}' is not a BERT encoder; supported: {string.Join(", ", SupportedArchitectures)}.");
        if (HiddenAct is not ("gelu" or "relu"))
            throw new NotSupportedException($"{source}: hidden_act '{HiddenAct}' is not supported (gelu, relu).");
        if (HiddenSize <= 0 || NumAttentionHeads <= 0 || HiddenSize % NumAttentionHeads != 0)
            throw new InvalidDataException($"{source}: hidden_size {HiddenSize} must be a positive multiple of num_attention_heads {NumAttentionHeads}.");
        if (VocabSize <= 0 || NumHiddenLayers <= 0 || NumLabels <= 0)
            throw new InvalidDataException($"{source}: vocab_size, num_hidden_layers and num_labels must be positive.");
    }
}
