using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Confer.Models.Checkpoints;

namespace Confer.Models.Bert;

/// <summary>
/// A BERT encoder with ELECTRA's discriminator head (<c>discriminator_predictions.dense</c> → GELU →
/// <c>discriminator_predictions.dense_prediction</c>): one logit per token, "this token was replaced". Pre-training on
/// replaced-token detection teaches every position to check itself against its context, which is what a verifier of
/// reasoning steps needs; masked LM only teaches the [MASK] positions to guess. The saved folder is a plain BERT
/// encoder (<c>bert.*</c>, no pooler, no head), read by <see cref="BertForSequenceClassification"/> like any HF BERT.
/// </summary>
public sealed class BertForReplacedTokenDetection : nn.Module<BertInput, Tensor>
{
    private readonly BertModel bert;
    private readonly DiscriminatorPredictions discriminator_predictions;

    public BertForReplacedTokenDetection(BertConfig config, Device? device = null) : base(nameof(BertForReplacedTokenDetection))
    {
        bert = new BertModel(config, device, addPoolingLayer: false);
        discriminator_predictions = new DiscriminatorPredictions(config, device);
        RegisterComponents();
        BertInitialization.Apply(this, bert, config.InitializerRange, config.PadTokenId);
    }

    public BertConfig Config => bert.Config;

    /// <summary>
    /// Starts from the encoder of a BERT folder (e.g. a masked-LM checkpoint: its <c>cls.*</c> head and any pooler are
    /// not used); the detection head is new.
    /// </summary>
    public static BertForReplacedTokenDetection FromEncoder(string folder, Device? device = null)
    {
        var configPath = Path.Combine(folder, "config.json");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"No config.json in model folder '{folder}'.", configPath);
        var model = new BertForReplacedTokenDetection(BertConfig.Load(configPath), device);
        try
        {
            Checkpoint.LoadInto(model, folder,
                ignore: k => k.StartsWith("cls.", StringComparison.Ordinal) || k.StartsWith("bert.pooler.", StringComparison.Ordinal),
                optionalKeys: model.state_dict().Keys.Where(k => k.StartsWith("discriminator_predictions.", StringComparison.Ordinal)).ToHashSet());
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }

    /// <summary>Writes config.json (architectures ["BertModel"]) and the encoder's weights under HF names, without the head.</summary>
    public void SavePretrained(string folder)
    {
        Directory.CreateDirectory(folder);
        Config.Architectures = ["BertModel"];
        Config.Save(Path.Combine(folder, "config.json"));
        Checkpoint.Save(this, folder, ignore: k => k.StartsWith("discriminator_predictions.", StringComparison.Ordinal));
    }

    /// <summary>Per-token "replaced" logits [batch, seq].</summary>
    public override Tensor forward(BertInput input) => discriminator_predictions.forward(bert.forward(input).LastHiddenState);

    /// <summary>HF ElectraDiscriminatorPredictions: dense, GELU, then one logit.</summary>
    private sealed class DiscriminatorPredictions : nn.Module<Tensor, Tensor>
    {
        private readonly Linear dense;
        private readonly Linear dense_prediction;

        public DiscriminatorPredictions(BertConfig c, Device? device) : base(nameof(DiscriminatorPredictions))
        {
            dense = nn.Linear(c.HiddenSize, c.HiddenSize, device: device);
            dense_prediction = nn.Linear(c.HiddenSize, 1, device: device);
            RegisterComponents();
        }

        public override Tensor forward(Tensor hidden) => dense_prediction.forward(nn.functional.gelu(dense.forward(hidden))).squeeze(-1);
    }
}
