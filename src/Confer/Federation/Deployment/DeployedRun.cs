using Confer.Configuration;
using Confer.Data;
using Confer.Federation.Clients;
using Confer.Federation.Rounds;
using Confer.Federation.Simulation;
using Confer.Models;
using Confer.Tokenizers;

namespace Confer.Federation.Deployment;

/// <summary>
/// What a deployed server trains, for <see cref="FederationServer"/>: the round engine's settings, the run config its
/// clients receive when they join, and how to load the server's model. Instruction tuning of a causal LM
/// (<see cref="InstructionTuning"/>, <c>confer server</c>) is one kind; FedCoT's discriminator (<c>confer fedcot
/// server</c>) is another. The server, the gRPC gate and the round loop are the same for every kind.
/// </summary>
/// <param name="Kind">Told to every client at join (<see cref="InstructionTuningKind"/>, …), so a client built for another kind refuses with a clear error.</param>
/// <param name="Driver">The round engine's settings: strategy, rounds, ranks, codecs, privacy. Their YAML pins the state folder and feeds the report.</param>
/// <param name="ClientConfigYaml">The run config clients bind when they join; null for the driver's own YAML (instruction tuning), as the server writes it.</param>
/// <param name="Load">Loads the server's model and what it evaluates on; called once, after every cheap check passed.</param>
public sealed record DeployedRun(string Kind, SimulationSettings Driver, string? ClientConfigYaml, Func<ServerModel> Load)
{
    /// <summary>The kind of <c>confer server</c>/<c>confer client</c>: LoRA fine-tuning of a causal LM on instruction data.</summary>
    public const string InstructionTuningKind = "instruction-tuning";

    /// <summary>A client that joins a server which names no kind (an older server) is joining instruction tuning.</summary>
    public static string KindOf(string announced) => announced.Length == 0 ? InstructionTuningKind : announced;

    /// <summary>FedIT: the causal LM in <c>model</c> with the run's LoRA, evaluated on <c>test_data</c> when the run evaluates.</summary>
    public static DeployedRun InstructionTuning(SimulationSettings run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return new DeployedRun(InstructionTuningKind, run, null, () =>
        {
            var llm = ModelFactory.LoadCausalLM(run.Model, device: Runtime.DeviceSelector.Parse(run.Device));
            try
            {
                return ServerSideModel(run, new ClientModel(llm, run.CreateTuner()));
            }
            catch
            {
                llm.Dispose();
                throw;
            }
        });
    }

    /// <summary>The server's model with the global test set it may hold (never client data) when the run evaluates.</summary>
    private static ServerModel ServerSideModel(SimulationSettings s, ClientModel model)
    {
        var tokenizer = TextTokenizer.FromPretrained(s.Model);
        IReadOnlyList<TokenizedExample> test = [];
        if (s.EvalEvery > 0 && s.TestData.Length > 0)
        {
            if (!File.Exists(s.TestData)) throw new ConfigException($"test_data: '{s.TestData}' does not exist (set eval_every: 0 for a server without a test set).");
            test = new ExampleEncoder(tokenizer, Prompter.Load(s.Template), new ExampleEncoderOptions { MaxLength = s.CutoffLen, TrainOnInputs = s.TrainOnInputs })
                .EncodeAll(InstructionRecordReader.Load(s.TestData)).Examples;
        }
        var probe = s.ComplianceData.Length > 0 ? Robustness.Attacks.ComplianceProbe.Load(s.ComplianceData, tokenizer, Prompter.Load(s.Template)) : null;
        return new CausalLMServerModel(model, test, s.EvalBatchSize, tokenizer.PadId ?? 0, probe);
    }
}
