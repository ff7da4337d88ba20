using Confer.Data;
using Confer.Federation;
using Confer.Models;
using Confer.Peft;
using Confer.Reasoning.Candidates;
using Confer.Reasoning.Discriminator;
using Confer.Reasoning.Selection;
using Confer.Reasoning.Suites;
using Confer.Training;
using static Confer.Tests.Federation.FedTestKit;
using static TorchSharp.torch;

namespace Confer.Tests.Reasoning;

/// <summary>algorithms.md §3 oracles: selection ties, the BCE value and gradient, oracle and constant discriminators, and the server aggregation (FLoRA LoRA + weighted head).</summary>
public sealed class FedCotOracleTests
{
    [Fact]
    public void Selection_takes_the_highest_score_and_the_first_on_ties()
    {
        Assert.Equal(1, CandidateSelection.Best([0.1, 0.9, 0.4]));
        Assert.Equal(0, CandidateSelection.Best([0.5, 0.5]));
        Assert.Equal(2, CandidateSelection.Best([0.2, 0.7, 0.9, 0.9]));
        Assert.Equal(1, CandidateSelection.Best([double.NaN, 0.1]));
    }

    [Fact]
    public void Majority_vote_ties_go_to_the_answer_seen_first_and_unreadable_answers_do_not_vote()
    {
        Candidate C(string? answer) => new("", answer, false);
        Assert.Equal(0, CandidateSelection.MajorityVote([C("3"), C("5"), C("5"), C("3")]));
        Assert.Equal(2, CandidateSelection.MajorityVote([C("7"), C(null), C("5"), C("5"), C(null), C(null)]));
        Assert.Equal(0, CandidateSelection.MajorityVote([C(null), C(null)]));
    }

    [Fact]
    public void Bce_at_logit_zero_is_ln_2_and_its_gradient_is_sigmoid_minus_label()
    {
        var plain = new DiscriminatorTrainer(new TrainerOptions(), 1.0, 0);
        using var zero = zeros(4);
        using var labels = tensor(new float[] { 1, 0, 1, 0 });
        using var atZero = plain.Loss(zero, labels);
        Assert.Equal(0.693147, atZero.item<float>(), 5);

        using var z = tensor(new float[] { 0.3f, -1.2f, 2.0f, 0.0f }).requires_grad_();
        using var loss = plain.Loss(z, labels);
        loss.backward();
        var expected = new[] { 0.3, -1.2, 2.0, 0.0 }.Select((v, i) => (1 / (1 + Math.Exp(-v)) - (i % 2 == 0 ? 1 : 0)) / 4).ToArray();
        var grad = z.grad!.data<float>().ToArray();
        for (var i = 0; i < 4; i++) Assert.Equal(expected[i], grad[i], 6);

        // pos_weight w multiplies the positive term: at z = 0 a positive costs w·ln 2, a negative ln 2.
        var weighted = new DiscriminatorTrainer(new TrainerOptions(), 3.0, 0);
        using var w = weighted.Loss(zero, labels);
        Assert.Equal((3 * Math.Log(2) + Math.Log(2)) / 2, w.item<float>(), 5);
    }

    [Fact]
    public void An_oracle_discriminator_scores_pass_at_k_and_a_constant_one_scores_candidate_0()
    {
        var questions = LabelledQuestions();
        var pass = questions.Count(q => CandidateSelection.AnyCorrect(q.Samples));
        var first = questions.Count(q => q.Samples[0].Correct);
        Assert.NotEqual(pass, first); // the data tell the two apart

        var oracle = questions.SelectMany(q => q.Samples.Select(c => c.Correct ? 1.0 : 0.0)).ToList();
        Assert.Equal(pass, CandidateSelection.CorrectBestOfK(questions, oracle));
        var constant = questions.SelectMany(q => q.Samples.Select(_ => 0.25)).ToList();
        Assert.Equal(first, CandidateSelection.CorrectBestOfK(questions, constant));
    }

    [Fact]
    public void Server_aggregation_stacks_lora_and_averages_the_head_with_p()
    {
        // §2 golden example for the LoRA pair, §3 head oracle p = (0.25, 0.75), b = (1, 3) → 2.5.
        using var initial = WithHead(Adapter(("m", zeros(1, 3), zeros(2, 1))), 0, [0, 0]);
        var settings = new FederationSettings { ClientIds = ["c0", "c1"], ClientRanks = [1, 2], LoraRank = 1, LoraAlpha = 1 };
        using var strategy = Create("flora", initial, settings);
        strategy.ConfigureTrain(1, ["c0", "c1"]);
        var c0 = WithHead(Adapter(("m", Matrix(new float[,] { { 1, 0, 1 } }), Matrix(new float[,] { { 1 }, { 2 } }))), 1, [1, 1]);
        var c1 = WithHead(Adapter(("m", Matrix(new float[,] { { 0, 1, 0 }, { 2, 0, 0 } }), eye(2))), 3, [3, 5]);
        strategy.AggregateTrain(1, [Update("c0", c0, 100), Update("c1", c1, 300)]);

        Assert.Equal(Bits(Matrix(new float[,] { { 0.25f, 0.75f, 0.25f }, { 2.0f, 0, 0.5f } })), Bits(strategy.MergedDelta[LoraKeys.DenseWeight("m")]));
        Assert.Equal(2.5f, strategy.GlobalAdapter["classifier.bias"].item<float>());
        Assert.Equal(new[] { 2.5f, 4.0f }, strategy.GlobalAdapter["classifier.weight"].data<float>().ToArray());
        Assert.False(strategy.GlobalAdapter.Names.Any(n => n.Contains("lora_", StringComparison.Ordinal)), "only the head stays in the global adapter");
    }

    [Fact]
    public void One_client_aggregation_is_the_identity()
    {
        using var g = new Generator(5);
        (string, long, long)[] modules = [("query", 16, 16), ("value", 16, 16)];
        using var initial = WithHead(RandomAdapter(g, 4, modules, zeroB: true), 0, [0, 0]);
        using var strategy = Create("flora", initial, new FederationSettings { ClientIds = ["only"], ClientRanks = [4], LoraRank = 4, LoraAlpha = 8 });
        strategy.ConfigureTrain(1, ["only"]);
        var trained = WithHead(RandomAdapter(g, 4, modules), 0.7f, [-1.5f, 0.25f]);
        strategy.AggregateTrain(1, [Update("only", trained, 37)]);
        foreach (var (path, _, _) in modules)
        {
            // α = 2r: s = 2 is a power of two, so s·B·A in fp32 rounds exactly like B·(s·A), the stacked form.
            using var expected = trained[LoraKeys.B(path)].matmul(trained[LoraKeys.A(path)]).mul(2.0);
            Assert.Equal(Bits(expected), Bits(strategy.MergedDelta[LoraKeys.DenseWeight(path)]));
        }
        Assert.Equal(Bits(trained["classifier.weight"]), Bits(strategy.GlobalAdapter["classifier.weight"]));
        Assert.Equal(Bits(trained["classifier.bias"]), Bits(strategy.GlobalAdapter["classifier.bias"]));
    }

    private static NamedTensors WithHead(NamedTensors adapter, float bias, float[] weight)
    {
        adapter.Add("classifier.weight", tensor(weight).reshape(1, weight.Length));
        adapter.Add("classifier.bias", tensor(new[] { bias }));
        return adapter;
    }

    /// <summary>Real suite questions with completions written the way the actor writes them, right and wrong in different places.</summary>
    private static List<QuestionCandidates> LabelledQuestions()
    {
        var records = ArithmeticSuite.Create(0, 6).Datasets[0].Test;
        string Say(QaRecord q, int offset) => $"{q.Rationale} The answer is {int.Parse(q.Answer, System.Globalization.CultureInfo.InvariantCulture) + offset}.";
        int[][] offsets = [[1, 0, 2], [0, 1, 1], [3, 4, 5], [2, 2, 0], [0, 0, 0], [1, 0, 0]];
        return [.. records.Select((q, i) => QuestionCandidates.Label(q, [.. offsets[i].Select(o => Say(q, o))], null))];
    }
}
