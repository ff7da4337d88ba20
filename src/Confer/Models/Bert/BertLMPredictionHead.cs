using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Confer.Models.Bert;

/// <summary>
/// HF <c>cls</c> (BertOnlyMLMHead): only holds <c>predictions</c>, so that checkpoint keys read
/// <c>cls.predictions.*</c> as in <c>transformers</c>.
/// </summary>
internal sealed class BertOnlyMLMHead : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly BertLMPredictionHead predictions;

    public BertOnlyMLMHead(BertConfig c, Device? device) : base(nameof(BertOnlyMLMHead))
    {
        predictions = new BertLMPredictionHead(c, device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor decoderWeight) => predictions.forward(hidden, decoderWeight);
}

/// <summary>
/// HF <c>BertLMPredictionHead</c>: transform, then a decoder whose weight is the word-embedding matrix (tied, so it is
/// passed in rather than owned) plus an own output <c>bias</c> [vocab].
/// </summary>
internal sealed class BertLMPredictionHead : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly BertPredictionHeadTransform transform;
    private readonly Parameter bias;

    public BertLMPredictionHead(BertConfig c, Device? device) : base(nameof(BertLMPredictionHead))
    {
        transform = new BertPredictionHeadTransform(c, device);
        bias = new Parameter(zeros(c.VocabSize, device: device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor decoderWeight) =>
        nn.functional.linear(transform.forward(hidden), decoderWeight, bias);
}

/// <summary>HF <c>BertPredictionHeadTransform</c>: dense → activation → LayerNorm.</summary>
internal sealed class BertPredictionHeadTransform : nn.Module<Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly LayerNorm LayerNorm;
    private readonly string _activation;

    public BertPredictionHeadTransform(BertConfig c, Device? device) : base(nameof(BertPredictionHeadTransform))
    {
        dense = nn.Linear(c.HiddenSize, c.HiddenSize, device: device);
        LayerNorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps, device: device);
        _activation = c.HiddenAct;
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        var h = dense.forward(hidden);
        h = _activation == "relu" ? nn.functional.relu(h) : nn.functional.gelu(h);
        return LayerNorm.forward(h);
    }
}
