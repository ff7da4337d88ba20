using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Confer.Models.Checkpoints;

namespace Confer.Models.Bert;

/// <summary>
/// HF <c>BertForSequenceClassification</c>: BERT + dropout + <c>classifier</c> on the pooled [CLS] vector. FedCoT's
/// discriminator is this model with one label (a score) and LoRA on the encoder.
/// </summary>
public sealed class BertForSequenceClassification : nn.Module<BertInput, Tensor>, IPretrainedModel
{
    private readonly BertModel bert;
    private readonly Dropout dropout;
    private readonly Linear classifier;

    public BertForSequenceClassification(BertConfig config, Device? device = null) : base(nameof(BertForSequenceClassification))
    {
        bert = new BertModel(config, device);
        dropout = nn.Dropout(config.HiddenDropout);
        classifier = nn.Linear(config.HiddenSize, config.NumLabels, device: device);
        RegisterComponents();
    }

    public BertConfig Config => bert.Config;

    /// <summary>Loads config.json and weights; a checkpoint without a <c>classifier</c> (e.g. a plain BertModel) keeps the
    /// freshly initialised head, as <c>transformers</c> does. A masked-LM checkpoint (no pooler, <c>cls.*</c> head) loads
    /// too: its head is ignored and the pooler stays freshly initialised. <paramref name="numLabels"/> overrides the
    /// config's label count as <c>from_pretrained(num_labels=…)</c> does; a checkpoint whose classifier has another
    /// size is refused (its trained head would not fit).</summary>
    public static BertForSequenceClassification FromPretrained(string folder, Device? device = null, int? numLabels = null)
    {
        var configPath = Path.Combine(folder, "config.json");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"No config.json in model folder '{folder}'.", configPath);
        var config = BertConfig.Load(configPath);
        if (numLabels is { } labels && labels != config.NumLabels)
        {
            if (labels < 1) throw new ArgumentOutOfRangeException(nameof(numLabels), labels, "A classifier needs at least one label.");
            config.NumLabelsRaw = labels;
            config.Id2Label = null;
        }
        var model = new BertForSequenceClassification(config, device);
        try
        {
            Checkpoint.LoadInto(model, folder, ignore: k => k.Contains(".lora_", StringComparison.Ordinal) || k.StartsWith("cls.", StringComparison.Ordinal),
                optionalKeys: new HashSet<string> { "classifier.weight", "classifier.bias", "bert.pooler.dense.weight", "bert.pooler.dense.bias" });
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }

    /// <summary>Writes config.json (architectures: this class, whatever the folder it was loaded from said) and the weights.</summary>
    public void SavePretrained(string folder)
    {
        Directory.CreateDirectory(folder);
        Config.Architectures = [nameof(BertForSequenceClassification)];
        Config.Save(Path.Combine(folder, "config.json"));
        Checkpoint.Save(this, folder, ignore: k => k.Contains(".lora_", StringComparison.Ordinal));
    }

    /// <summary>The classification head's tensors (HF names), trained and sent in full alongside the LoRA adapter.</summary>
    public Linear Classifier => classifier;

    /// <summary>Returns logits [batch, num_labels].</summary>
    public override Tensor forward(BertInput input) => classifier.forward(dropout.forward(bert.forward(input).PooledOutput!));
}
