using TorchSharp;
using static TorchSharp.torch;
using Confer.Models.Checkpoints;

namespace Confer.Models.Bert;

/// <summary>
/// HF <c>BertForMaskedLM</c>: BERT without pooler, plus the <c>cls.predictions</c> head whose decoder is tied to
/// <c>bert.embeddings.word_embeddings.weight</c>. This is what <c>confer pretrain --arch bert</c> trains; the encoder
/// it produces is then fine-tuned as a <see cref="BertForSequenceClassification"/> (which ignores the <c>cls.*</c> head).
/// </summary>
public sealed class BertForMaskedLM : nn.Module<BertInput, Tensor>
{
    private readonly BertModel bert;
    private readonly BertOnlyMLMHead cls;

    /// <summary>Builds the model with HF's initialisation (N(0, initializer_range) matrices and embeddings, zero
    /// biases, unit LayerNorm), so training from scratch starts with small logits, unlike torch's N(0, 1) embeddings.</summary>
    public BertForMaskedLM(BertConfig config, Device? device = null) : base(nameof(BertForMaskedLM))
    {
        bert = new BertModel(config, device, addPoolingLayer: false);
        cls = new BertOnlyMLMHead(config, device);
        RegisterComponents();
        BertInitialization.Apply(this, bert, config.InitializerRange, config.PadTokenId);
    }

    public BertConfig Config => bert.Config;

    /// <summary>Loads config.json and weights. Keys HF's masked-LM model also skips are ignored: a pooler and a
    /// next-sentence head (BertForPreTraining checkpoints) and the tied <c>cls.predictions.decoder.*</c> copies.</summary>
    public static BertForMaskedLM FromPretrained(string folder, Device? device = null)
    {
        var configPath = Path.Combine(folder, "config.json");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"No config.json in model folder '{folder}'.", configPath);
        var model = new BertForMaskedLM(BertConfig.Load(configPath), device);
        try
        {
            Checkpoint.LoadInto(model, folder, ignore: IsIgnoredKey);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        return model;
    }

    /// <summary>Writes config.json (architectures ["BertForMaskedLM"]) and the weights under HF names; the tied decoder
    /// has no tensor of its own.</summary>
    public void SavePretrained(string folder)
    {
        Directory.CreateDirectory(folder);
        Config.Architectures = ["BertForMaskedLM"];
        Config.Save(Path.Combine(folder, "config.json"));
        Checkpoint.Save(this, folder, ignore: k => k.Contains(".lora_", StringComparison.Ordinal));
    }

    /// <summary>Returns vocabulary logits [batch, seq, vocab].</summary>
    public override Tensor forward(BertInput input) =>
        cls.forward(bert.forward(input).LastHiddenState, bert.WordEmbeddings.weight!);

    /// <summary>
    /// Logits [n, vocab] at only the <paramref name="selected"/> positions (bool [batch, seq]); equals
    /// <c>forward(input)[selected]</c>. Masked-LM training scores ~15% of positions and the vocabulary projection
    /// dominates a small model's cost, so projecting only those positions skips most of the work.
    /// </summary>
    internal Tensor ForwardAt(BertInput input, Tensor selected) =>
        cls.forward(bert.forward(input).LastHiddenState[selected], bert.WordEmbeddings.weight!);

    private static bool IsIgnoredKey(string key) =>
        key.Contains(".lora_", StringComparison.Ordinal)
        || key.StartsWith("bert.pooler.", StringComparison.Ordinal)
        || key.StartsWith("cls.seq_relationship.", StringComparison.Ordinal)
        || key.StartsWith("cls.predictions.decoder.", StringComparison.Ordinal);
}
