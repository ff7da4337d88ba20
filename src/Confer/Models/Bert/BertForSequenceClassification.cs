using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Confer.Models.Bert;

/// <summary>
/// HF <c>BertForSequenceClassification</c>: BERT + dropout + <c>classifier</c> on the pooled [CLS] vector. FedCoT's
/// discriminator is this model with one label (a score) and LoRA on the encoder.
/// </summary>
public sealed class BertForSequenceClassification : nn.Module<BertInput, Tensor>
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

    /// <summary>The classification head's tensors (HF names), trained and sent in full alongside the LoRA adapter.</summary>
    public Linear Classifier => classifier;

    /// <summary>Returns logits [batch, num_labels].</summary>
    public override Tensor forward(BertInput input) => classifier.forward(dropout.forward(bert.forward(input).PooledOutput));
}
