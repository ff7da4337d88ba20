using Confer.Data;
using Confer.Models.Bert;
using Confer.Models.Safetensors;
using Confer.Reasoning.Discriminator;
using Confer.Reasoning.FedCot;
using Confer.Reasoning.Suites;
using Confer.Tests.Data;
using static TorchSharp.torch;

namespace Confer.Tests.Reasoning;

/// <summary>
/// The arithmetic suite's shipped encoder, <c>models/confer-arith-verifier</c>, as FedCoT loads it: its trained head is
/// read from the checkpoint (not re-initialised), and through Confer's tokenizer and discriminator input it prefers a
/// correct worked solution of an unseen test question to the same solution with one wrong step — what a verifier is
/// for, and what a head or input format gone wrong (segment ids, truncation, vocabulary) would break.
/// </summary>
public sealed class ShippedVerifierTests
{
    private static readonly string Folder = Path.Combine(DataPaths.RepoRoot, "models", "confer-arith-verifier");

    [Fact]
    public void The_arithmetic_suite_defaults_to_the_verifier_and_the_medical_suite_to_the_masked_lm_encoder()
    {
        Assert.Equal("models/confer-arith-verifier", new FedCotSettings().EncoderFolder);
        Assert.Equal("models/confer-bert-arith", new FedCotSettings { Suite = "medical" }.EncoderFolder);
        Assert.Equal("/my/bert", new FedCotSettings { Suite = "medical", Encoder = "/my/bert" }.EncoderFolder);
    }

    [Fact]
    public void The_verifier_ranks_correct_solutions_of_unseen_questions_above_ones_with_a_wrong_step()
    {
        var (model, tokenizer) = DiscriminatorModel.Load(Folder, ["query", "value"], seed: 0);
        using var _ = model;
        var encoder = (BertForSequenceClassification)model.Model;

        // The head comes from the checkpoint: a seeded initialisation would not match the file's values.
        using (var file = SafetensorsFile.Load(Path.Combine(Folder, "model.safetensors")))
            Assert.True(file["classifier.weight"].equal(encoder.Classifier.weight!.detach()).all().item<bool>(), "classifier.weight was not loaded from the checkpoint");

        var input = new DiscriminatorInput(tokenizer, maxLength: 160);
        var random = new Random(7);
        var examples = new List<DiscriminatorExample>();
        // The first 16 test questions of each family of the default suite (120 train, then test): no training example
        // of the verifier was one of them (tools/fedcot-verifier excludes the suite's questions).
        foreach (var dataset in ArithmeticSuite.Create(train: 120, test: 16).Datasets)
            foreach (var q in dataset.Test)
            {
                var steps = q.Rationale!.Split(". ", StringSplitOptions.RemoveEmptyEntries).Select(s => s.TrimEnd('.')).ToList();
                examples.Add(input.Encode(q.Question, Solution(steps), q.Answer, label: true));
                examples.Add(input.Encode(q.Question, Solution(WithWrongStep(steps, random, out var wrongAnswer)), wrongAnswer, label: false));
            }

        var logits = DiscriminatorScorer.Logits(encoder, examples, batchSize: 32, padId: 0);
        var pairs = logits.Length / 2;
        var ranked = Enumerable.Range(0, pairs).Count(i => logits[2 * i] > logits[2 * i + 1]);
        // A verifier with a random head ranks about half the pairs; this one was at 97 % accuracy on generated examples.
        Assert.True(ranked >= 0.9 * pairs, $"the verifier ranked {ranked} of {pairs} correct solutions above their corrupted copies");
    }

    /// <summary>The actor's way of writing a worked solution: " a + b = c. c - d = e. The answer is e."</summary>
    private static string Solution(IReadOnlyList<string> steps) =>
        " " + string.Join(" ", steps.Select(s => s + ".")) + $" The answer is {steps[^1].Split(" = ")[1]}.";

    /// <summary>
    /// The solution with one step's result off by 1–9, carried into the following steps as the actor carries its
    /// slips (they are recomputed from the wrong value), so the final answer is wrong too.
    /// </summary>
    private static List<string> WithWrongStep(IReadOnlyList<string> steps, Random random, out string answer)
    {
        var wrong = random.Next(steps.Count);
        var result = new List<string>();
        long? goldPrevious = null, writtenPrevious = null;
        for (var i = 0; i < steps.Count; i++)
        {
            var sides = steps[i].Split(" = ");
            var terms = sides[0].Split(' ');
            long a = long.Parse(terms[0]), b = long.Parse(terms[2]), gold = long.Parse(sides[1]);
            // Each later step reads the previous step's result (left operand, or right in `paid - cost`).
            if (goldPrevious is { } g && writtenPrevious is { } w)
            {
                if (a == g) a = w;
                else if (b == g) b = w;
            }
            var value = terms[1] switch { "+" => a + b, "-" => a - b, "*" => a * b, _ => a / b };
            if (i == wrong)
            {
                var delta = random.Next(1, 10);
                value += value - delta >= 0 && random.Next(2) == 0 ? -delta : delta;
            }
            (goldPrevious, writtenPrevious) = (gold, value);
            result.Add($"{a} {terms[1]} {b} = {value}");
        }
        answer = result[^1].Split(" = ")[1];
        return result;
    }
}
