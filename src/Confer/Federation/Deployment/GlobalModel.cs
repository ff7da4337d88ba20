using Confer.Data;
using Confer.Federation.Clients;
using Confer.Federation.Simulation;
using Confer.Models.Llama;
using Confer.Tokenizers;
using Confer.Training;

namespace Confer.Federation.Deployment;

/// <summary>
/// The server's copy of the base model: it shapes the initial adapter, evaluates the global model on a test set the
/// server may hold (never client data), and exports the final merged model.
/// </summary>
internal sealed class GlobalModel : IDisposable
{
    private readonly LlamaForCausalLM _model;
    private readonly IReadOnlyList<TokenizedExample> _test;
    private readonly int _evalBatch;
    private readonly int _padId;

    public GlobalModel(SimulationSettings s, bool evaluate)
    {
        if (!Directory.Exists(s.Model)) throw new Configuration.ConfigException($"model: folder '{s.Model}' does not exist.");
        _model = LlamaForCausalLM.FromPretrained(s.Model, device: Runtime.DeviceSelector.Parse(s.Device));
        ClientModel = new ClientModel(_model, s.LoraTargets);
        var tokenizer = TextTokenizer.FromPretrained(s.Model);
        _padId = tokenizer.PadId ?? 0;
        _evalBatch = s.EvalBatchSize;
        _test = evaluate && s.TestData.Length > 0 && File.Exists(s.TestData)
            ? new ExampleEncoder(tokenizer, Prompter.Load(s.Template), new ExampleEncoderOptions { MaxLength = s.CutoffLen, TrainOnInputs = s.TrainOnInputs })
                .EncodeAll(InstructionRecordReader.Load(s.TestData)).Examples
            : [];
    }

    public ClientModel ClientModel { get; }

    public bool CanEvaluate => _test.Count > 0;

    public LossReport Evaluate(Strategy strategy)
    {
        ClientModel.ApplyGlobal(strategy.MergedDelta, strategy.GlobalAdapter, strategy.GlobalLoraScale);
        return Evaluator.EvaluateLoss(_model, _test, _evalBatch, _padId);
    }

    public void Dispose()
    {
        ClientModel.Dispose();
        _model.Dispose();
    }
}
