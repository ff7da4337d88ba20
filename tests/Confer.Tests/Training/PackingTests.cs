using Confer.Data;
using Confer.Models;
using Confer.Models.Llama;
using Confer.Peft;
using Confer.Training;
using static TorchSharp.torch;

namespace Confer.Tests.Training;

/// <summary>
/// Packed rows (<see cref="BatchCollator.CollatePacked"/>, a block-diagonal causal mask and positions restarting per
/// example) against the oracle of each example run alone, unpadded: every example's per-token losses are the same,
/// and the gradient of a packed batch is the sum of the examples' own gradients.
/// </summary>
public sealed class PackingTests
{
    private const double Tolerance = 1e-5;

    /// <summary>Examples of lengths 3…17; some with prompts that carry no label, some labelled from the first token
    /// (train_on_inputs), so a label at an example's start would cross the boundary if packing let it.</summary>
    private static List<TokenizedExample> Examples()
    {
        var random = new Random(21);
        return new[] { (17, 5), (4, 0), (9, 3), (12, 0), (3, 1), (6, 2), (16, 0) }.Select(x =>
        {
            var ids = Enumerable.Range(0, x.Item1).Select(_ => random.Next(1, 97)).ToArray();
            return new TokenizedExample(ids, ids.Select((id, i) => i < x.Item2 ? TokenizedExample.IgnoreLabel : id).ToArray());
        }).ToList();
    }

    private static LlamaForCausalLM LoraModelWithNonZeroB()
    {
        var model = TinyModels.Llama(seed: 5);
        LoraModel.Attach(model, new LoraConfig { Rank = 4, Alpha = 8, Dropout = 0 }, new Generator(6));
        using (no_grad())
            foreach (var (_, layer) in LoraModel.Layers(model)) layer.LoraB.normal_(0, 0.1, generator: new Generator(7));
        model.train();
        return model;
    }

    /// <summary>−log p(label) of each labelled position of each example, from full logits of <paramref name="input"/>,
    /// read back per example through <paramref name="placement"/> (row, offset of the example's first token).</summary>
    private static List<float[]> TokenLosses(LlamaForCausalLM model, CausalLMInput input, IReadOnlyList<TokenizedExample> examples, IReadOnlyList<(int Row, int Offset)> placement)
    {
        using var scope = NewDisposeScope();
        var logProbs = model.forward(input).Logits.log_softmax(-1);
        return examples.Select((e, i) =>
        {
            var (row, offset) = placement[i];
            return Enumerable.Range(1, e.Length - 1).Where(t => e.Labels[t] != TokenizedExample.IgnoreLabel)
                .Select(t => -logProbs[row, offset + t - 1, e.Labels[t]].item<float>()).ToArray();
        }).ToList();
    }

    [Fact]
    public void Collator_packs_first_fit_longest_first_with_positions_restarting_and_no_label_across_examples()
    {
        var examples = Examples();
        using var batch = BatchCollator.CollatePacked(examples, padTokenId: 0);
        // Capacity 17 (the longest), longest first: 17, 16 and 12 open rows; 9 opens a fourth (12 + 9 > 17); 6 fits
        // after 9, 4 after 12; 3 fits nowhere (free space 0, 1, 1, 2) and opens a fifth: 5 rows instead of 7.
        var rows = BatchCollator.Pack(examples);
        Assert.Equal(new[] { new[] { 17 }, [16], [12, 4], [9, 6], [3] }, rows.Select(r => r.Select(e => e.Length).ToArray()).ToArray());
        Assert.Equal([5L, 17L], batch.InputIds.shape);
        Assert.Equal(examples.Count, batch.ExampleCount);
        Assert.Equal(examples.Sum(e => (long)e.Length), batch.TokenCount);
        Assert.Equal(examples.Sum(e => (long)e.TargetCount), batch.TargetTokenCount);
        Assert.Equal(batch.TargetTokenCount, batch.Labels.narrow(1, 1, 16).ne(TokenizedExample.IgnoreLabel).sum().item<long>());
        var positions = batch.PositionIds!;
        Assert.Equal([.. Enumerable.Range(0, 12).Select(i => (long)i), 0, 1, 2, 3, 0], positions[2].data<long>().ToArray());
        // The 4-token example is labelled from its first token, which packing must not keep (it would be the target of
        // the 12-token example's last position).
        var row2 = batch.Labels[2].data<long>().ToArray();
        Assert.Equal(TokenizedExample.IgnoreLabel, row2[12]);
        Assert.Equal(rows[2][1].Labels[1..], row2[13..16].Select(l => (int)l));
        Assert.Equal(0, batch.AttentionMask[4].narrow(0, 3, 14).sum().item<long>());

        // Nothing to pack (equal lengths): the plain batch, so the model keeps its fused causal kernel.
        using var same = BatchCollator.CollatePacked([examples[1], examples[1]]);
        Assert.Null(same.PositionIds);
        Assert.Equal([2L, 4L], same.InputIds.shape);
    }

    [Fact]
    public void Per_example_losses_equal_each_example_trained_alone()
    {
        using var model = LoraModelWithNonZeroB();
        var examples = Examples();
        var alone = examples.Select(e =>
        {
            using var ids = tensor(e.InputIds.Select(i => (long)i).ToArray(), [1, e.Length]);
            return TokenLosses(model, new CausalLMInput(ids), [e], [(0, 0)])[0];
        }).ToList();

        using var batch = BatchCollator.CollatePacked(examples);
        var rows = BatchCollator.Pack(examples);
        var placement = examples.Select(e =>
        {
            var row = rows.FindIndex(r => r.Contains(e));
            return (row, rows[row].TakeWhile(x => x != e).Sum(x => x.Length));
        }).ToList();
        var packed = TokenLosses(model, new CausalLMInput(batch.InputIds, PositionIds: batch.PositionIds), examples, placement);

        for (var i = 0; i < examples.Count; i++)
        {
            Assert.Equal(alone[i].Length, packed[i].Length);
            for (var t = 0; t < alone[i].Length; t++)
                Assert.True(Math.Abs(alone[i][t] - packed[i][t]) <= Tolerance, $"example {i} token {t}: alone {alone[i][t]}, packed {packed[i][t]}");
        }
        // Without the block-diagonal mask (one causal sequence per row) the later examples of a row would see the
        // earlier ones, and their losses would differ: the test can fail.
        var unmasked = TokenLosses(model, new CausalLMInput(batch.InputIds), examples, placement);
        var second = examples.IndexOf(rows[2][1]);
        Assert.True(Math.Abs(unmasked[second][0] - alone[second][0]) > 1e-3);
    }

    [Fact]
    public void Gradient_of_a_packed_batch_is_the_sum_of_the_examples_own_gradients()
    {
        using var model = LoraModelWithNonZeroB();
        var examples = Examples();
        var targets = examples.Sum(e => (long)e.TargetCount);

        model.zero_grad();
        double aloneLoss = 0;
        foreach (var e in examples)
        {
            using var scope = NewDisposeScope();
            using var batch = BatchCollator.Collate([e]);
            aloneLoss += LabelOnlyLoss.SumAndBackward(model, model.HiddenStates(new CausalLMInput(batch.InputIds)), batch.Labels, targets);
        }
        var expected = Gradients(model);

        model.zero_grad();
        var packed = LocalTrainer.AccumulateGradients(model, [examples], 0, CPU, packing: true);
        var actual = Gradients(model);

        Assert.Equal(targets, packed.TargetTokens);
        Assert.Equal(aloneLoss, packed.LossSum, aloneLoss * Tolerance);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        Assert.NotEmpty(actual);
        foreach (var (name, grad) in expected)
        {
            var diff = (grad - actual[name]).abs().max().item<float>();
            Assert.True(diff <= Tolerance * Math.Max(1, grad.abs().max().item<float>()), $"{name}: max diff {diff}");
        }
    }

    [Fact]
    public void Training_packed_follows_the_unpacked_trajectory()
    {
        var examples = TrainingData.Examples(4, 24, minLength: 3, maxLength: 30, maskPrompt: true);
        double[] Train(bool packing)
        {
            using var model = LoraModelWithNonZeroB();
            var options = new TrainerOptions { MaxSteps = 5, MicroBatchSize = 4, GradientAccumulationSteps = 2, LearningRate = 1e-2, Seed = 9, Packing = packing };
            return [.. new LocalTrainer(options).Train(model, examples, cancellationToken: TestContext.Current.CancellationToken).StepLosses];
        }
        var unpacked = Train(false);
        var packed = Train(true);
        Assert.Equal(unpacked, packed, (a, b) => Math.Abs(a - b) <= Tolerance * Math.Max(1, Math.Abs(a)));
    }

    [Fact]
    public void Packed_rows_refuse_a_cache_or_an_attention_mask()
    {
        using var model = TinyModels.Llama();
        using var batch = BatchCollator.CollatePacked(Examples());
        Assert.Throws<ArgumentException>(() => model.forward(new CausalLMInput(batch.InputIds, batch.AttentionMask, PositionIds: batch.PositionIds)));
    }

    private static Dictionary<string, Tensor> Gradients(LlamaForCausalLM model) =>
        model.named_parameters().Where(p => p.parameter.grad is not null).ToDictionary(p => p.name, p => p.parameter.grad!.clone());
}
