using System.Text.Json;
using System.Text.Json.Nodes;
using Confer.Models.Llama;
using Confer.Runtime;
using Confer.Models.Safetensors;

namespace Confer.Models.Llama2c;

/// <summary>
/// Turns a llama2.c checkpoint and tokenizer into a Hugging Face LLaMA model folder (<c>config.json</c>,
/// <c>model.safetensors</c>, <c>tokenizer.model</c>, <c>tokenizer_config.json</c>, <c>special_tokens_map.json</c>)
/// that Confer's loaders, and transformers, read like any other LLaMA model.
/// </summary>
public static class Llama2cConverter
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Converts and returns the checkpoint's hyper-parameters. Existing files in <paramref name="outFolder"/> are replaced.</summary>
    /// <param name="checkpoint">A llama2.c <c>.bin</c> checkpoint (v0 fp32, v1 fp32 or v2 Q8_0).</param>
    /// <param name="tokenizerBin">The llama2.c <c>tokenizer.bin</c> that goes with it.</param>
    /// <param name="outFolder">The HF model folder to write; created if needed.</param>
    public static Llama2cConfig ConvertToHf(string checkpoint, string tokenizerBin, string outFolder)
    {
        var vocabulary = Llama2cVocabulary.Read(tokenizerBin);
        var (config, tensors) = Llama2cCheckpoint.Load(checkpoint);
        using (tensors)
        {
            if (vocabulary.Pieces.Count != config.VocabSize)
                throw new InvalidDataException($"Tokenizer '{tokenizerBin}' has {vocabulary.Pieces.Count} tokens but checkpoint '{checkpoint}' has vocab_size {config.VocabSize}; they are not a pair.");
            Directory.CreateDirectory(outFolder);
            HfConfig(config).Save(Path.Combine(outFolder, "config.json"));
            SafetensorsFile.Save(Path.Combine(outFolder, "model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        }
        AtomicFile.WriteAllBytes(Path.Combine(outFolder, "tokenizer.model"), SentencePieceModelWriter.Build(vocabulary.Pieces));
        WriteJson(Path.Combine(outFolder, "tokenizer_config.json"), new JsonObject
        {
            ["tokenizer_class"] = "LlamaTokenizer",
            ["bos_token"] = "<s>",
            ["eos_token"] = "</s>",
            ["unk_token"] = "<unk>",
            ["pad_token"] = null,
            ["add_bos_token"] = true,
            ["add_eos_token"] = false,
            ["clean_up_tokenization_spaces"] = false,
            ["model_max_length"] = config.SeqLen,
        });
        WriteJson(Path.Combine(outFolder, "special_tokens_map.json"), new JsonObject
        {
            ["bos_token"] = "<s>",
            ["eos_token"] = "</s>",
            ["unk_token"] = "<unk>",
        });
        return config;
    }

    /// <summary>Writes only the SentencePiece <c>tokenizer.model</c> equivalent to a llama2.c <c>tokenizer.bin</c>.</summary>
    public static void WriteTokenizerModel(string tokenizerBin, string modelPath) =>
        AtomicFile.WriteAllBytes(modelPath, SentencePieceModelWriter.Build(Llama2cVocabulary.Read(tokenizerBin).Pieces));

    /// <summary>The HF config of a llama2.c model: RMSNorm eps 1e-5 and RoPE theta 10000 are fixed in llama2.c.</summary>
    internal static LlamaConfig HfConfig(Llama2cConfig c) => new()
    {
        Architectures = ["LlamaForCausalLM"],
        ModelType = "llama",
        HiddenSize = c.Dim,
        IntermediateSize = c.HiddenDim,
        NumHiddenLayers = c.Layers,
        NumAttentionHeads = c.Heads,
        NumKeyValueHeads = c.KvHeads,
        VocabSize = c.VocabSize,
        MaxPositionEmbeddings = c.SeqLen,
        RmsNormEps = 1e-5,
        RopeTheta = 10000.0,
        TieWordEmbeddings = c.SharedClassifier,
        HiddenAct = "silu",
        BosTokenId = Llama2cVocabulary.BosId,
        EosTokenIdRaw = JsonSerializer.SerializeToElement(Llama2cVocabulary.EosId),
        TorchDtype = "float32",
    };

    private static void WriteJson(string path, JsonObject json) => AtomicFile.WriteAllText(path, json.ToJsonString(Indented) + "\n");
}
