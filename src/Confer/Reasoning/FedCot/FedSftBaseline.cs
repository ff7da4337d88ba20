using System.Text.Json;
using System.Text.Json.Nodes;
using Confer.Data;
using Confer.Federation.Rounds;
using Confer.Federation.Simulation;
using Confer.Reasoning.Actors;
using Confer.Reasoning.Candidates;
using Confer.Reasoning.Suites;
using Confer.Runtime;

namespace Confer.Reasoning.FedCot;

/// <summary>
/// The Fed-SFT baseline: FedIT (FedAvg of LoRA) of the actor itself on the same clients' training questions, run by
/// the ordinary <see cref="SimulationEngine"/> — each client's questions as instruction records whose response is the
/// reference rationale and <c>The answer is X.</c>, in the suite's own prompt format — then the fine-tuned actor
/// answers the test questions greedily (its CoT accuracy).
/// </summary>
internal sealed class FedSftBaseline(FedCotSettings s, ReasoningSuite suite, ActorSource actor, IRoundProgress progress)
{
    public sealed record Result(string RunFolder, IReadOnlyDictionary<string, double> Accuracy, IReadOnlyList<RoundRecord> Rounds);

    public Result Run(string folder, CancellationToken ct)
    {
        var modelFolder = actor.ModelFolder ?? throw new InvalidOperationException("Fed-SFT fine-tunes the actor, which needs a Confer model folder.");
        var open = actor.OpenModel ?? throw new InvalidOperationException("Fed-SFT needs a way to run the fine-tuned actor.");
        Directory.CreateDirectory(folder);
        var data = Path.Combine(folder, "data");
        Directory.CreateDirectory(data);
        for (var i = 0; i < suite.Datasets.Count; i++)
            AtomicFile.WriteAllText(Path.Combine(data, $"local_training_{i}.json"), Records(suite.Datasets[i].Train));
        var test = Path.Combine(data, "global_test.json");
        AtomicFile.WriteAllText(test, Records(suite.Datasets.SelectMany(d => d.Test)));
        var template = Path.Combine(folder, "template.json");
        AtomicFile.WriteAllText(template, Template(suite.Prompt));

        var rounds = s.SftRounds ?? s.Rounds;
        var settings = new SimulationSettings
        {
            Name = "run", Output = folder, Seed = s.Seed, Device = s.Device, Model = modelFolder, Data = data, TestData = test,
            Allocation = "natural", MaxClientRecords = 0, LocalTestFraction = 0, Template = template, CutoffLen = 512,
            Strategy = "fedavg", Rounds = rounds, Scheduler = "all", Fraction = 1, LocalSteps = s.SftLocalSteps, LearningRate = s.SftLearningRate,
            LoraRank = s.SftLoraRank, LoraAlpha = 2 * s.SftLoraRank, EvalEvery = rounds, Baselines = [],
        };
        progress.Phase("Fed-SFT: federated fine-tuning of the actor (FedIT)");
        var result = SimulationEngine.Run(settings, Path.Combine(folder, "run"), resume: false, progress, ct);
        var tuned = open(Path.Combine(result.RunFolder, "final", "model"));
        using var owned = tuned as IDisposable;
        var accuracy = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var dataset in suite.Datasets)
        {
            progress.Phase($"Fed-SFT: {dataset.Name} test answers from the fine-tuned actor");
            accuracy[dataset.Name] = GreedyAccuracy(tuned, dataset.Name, dataset.Test, ct);
        }
        return new Result(result.RunFolder, accuracy, new RunFolder(result.RunFolder).Rounds());
    }

    private double GreedyAccuracy(IReasoningActor tuned, string dataset, IReadOnlyList<QaRecord> questions, CancellationToken ct)
    {
        var request = s.Sampling.Greedy(suite.Prompt.Stop);
        var correct = 0;
        foreach (var q in questions)
        {
            var text = tuned.SampleAsync(suite.Prompt.Format(q), request, ct).GetAwaiter().GetResult();
            if (text.Count != 1) throw new InvalidDataException($"actor '{tuned.Name}' returned {text.Count} completions for a greedy request on {dataset}.");
            if (Candidate.Label(q, text[0]).Correct) correct++;
        }
        return questions.Count == 0 ? 0 : (double)correct / questions.Count;
    }

    private string Records(IEnumerable<QaRecord> records) =>
        JsonSerializer.Serialize(records.Select(r => new { instruction = suite.Prompt.Instruction(r), input = "", output = ReasoningPrompt.Target(r) }).ToList());

    /// <summary>A template that reproduces the suite's prompt exactly: the instruction is the prompt up to its answer cue.</summary>
    private static string Template(ReasoningPrompt prompt)
    {
        var cue = prompt.AnswerCue.Replace("{", "{{", StringComparison.Ordinal).Replace("}", "}}", StringComparison.Ordinal);
        return new JsonObject
        {
            ["description"] = $"FedCoT Fed-SFT: the {prompt.Name} prompt.",
            ["prompt_input"] = "{instruction}\n{input}\n" + cue,
            ["prompt_no_input"] = "{instruction}\n" + cue,
            ["response_split"] = prompt.AnswerCue,
        }.ToJsonString();
    }
}
