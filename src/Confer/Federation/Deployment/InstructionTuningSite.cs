using Confer.Configuration;
using Confer.Data;
using Confer.Federation.Clients;
using Confer.Federation.Simulation;
using Confer.Models;
using Confer.Tokenizers;

namespace Confer.Federation.Deployment;

/// <summary>
/// <c>confer client</c>'s site: LoRA fine-tuning of the causal LM in <c>model</c> on the instruction records in
/// <c>data</c>, prepared exactly as a simulated client's (template, cutoff, local split, record cap).
/// </summary>
public sealed class InstructionTuningSite : IClientSite
{
    public string RunKind => DeployedRun.InstructionTuningKind;

    public PreparedSite Prepare(string clientId, string runConfigYaml, ClientSettings settings, Action<string> log, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var run = ConfigBinder.BindReceived<SimulationSettings>(runConfigYaml, "the server's run config");
        var tokenizer = TextTokenizer.FromPretrained(settings.Model);
        var encoder = new ExampleEncoder(tokenizer, Prompter.Load(run.Template), new ExampleEncoderOptions { MaxLength = run.CutoffLen, TrainOnInputs = run.TrainOnInputs });
        var data = ClientData.Prepare(clientId, InstructionRecordReader.Load(settings.Data), run, encoder);
        var training = run.ToTrainerOptions(tokenizer.PadId ?? 0);
        if (settings.MaxLocalSteps > 0)
            training = training with { MaxSteps = run.LocalSteps > 0 ? Math.Min(run.LocalSteps, settings.MaxLocalSteps) : settings.MaxLocalSteps };
        if (training.Bf16 && Models.LowPrecisionMatmuls.HardwareNote() is { } slow) log(slow);
        var model = ModelFactory.LoadCausalLM(settings.Model, device: Runtime.DeviceSelector.Parse(settings.Device));
        var client = new FederatedClient(data, training, run.LoraDropout, run.Seed, run.EvalBatchSize);
        return new PreparedSite(run, client, new ClientModel(model, run.CreateTuner()), data.Train.Count);
    }
}
