using Confer.Models.Bert;
using Confer.Reasoning.Suites;
using Confer.Tokenizers;
using Confer.Training;
using Confer.Training.MaskedLM;
using Confer.Training.ReplacedTokens;
using static TorchSharp.torch;

namespace Confer.Tests.Training;

/// <summary>Replaced-token detection: the kind-preserving corruption, and that training on it learns to spot a wrong digit.</summary>
public sealed class ReplacedTokenTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "confer-rtd-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, true);
    }

    [Fact]
    public void Replacements_keep_the_token_kind_change_the_token_and_are_exactly_the_labelled_positions()
    {
        var tok = Tokenizer(["Ava has 12 pens and buys 30 more. 12 + 30 = 42."]);
        var body = tok.Encode("Ava has 12 pens and buys 30 more. 12 + 30 = 42.");
        var ids = new[] { tok.ClsId!.Value }.Concat(body).Concat([tok.SepId!.Value, tok.PadId!.Value]).Select(i => (long)i).ToArray();
        var batch = tensor(Enumerable.Repeat(ids, 200).SelectMany(x => x).ToArray(), [200, ids.Length]);
        using var replacer = new TokenReplacer(tok, tok.VocabSize, 0.15, seed: 7);
        var (inputs, labels, counted) = replacer.Replace(batch);
        var before = batch.data<long>().ToArray();
        var after = inputs.data<long>().ToArray();
        var replaced = labels.data<float>().ToArray();
        var countedFlags = counted.data<bool>().ToArray();
        var vocab = File.ReadAllLines(Path.Combine(_folder, "vocab.txt"));
        string[] specials = ["[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"];
        var changed = 0;
        for (var i = 0; i < before.Length; i++)
        {
            var (was, now) = (vocab[before[i]], vocab[after[i]]);
            Assert.Equal(replaced[i] == 1f, was != now);
            Assert.Equal(!specials.Contains(was), countedFlags[i]);
            if (was == now) continue;
            changed++;
            Assert.DoesNotContain(was, specials);
            Assert.Equal(was.StartsWith("##"), now.StartsWith("##"));
            Assert.Equal(was.TrimStart('#').All(char.IsAsciiDigit), now.TrimStart('#').All(char.IsAsciiDigit));
        }
        var share = changed / (double)countedFlags.Count(c => c);
        Assert.InRange(share, 0.12, 0.18);
    }

    [Fact]
    public void Training_from_scratch_learns_to_spot_replaced_tokens()
    {
        var problems = ArithmeticSuite.Corpus("encoder", 60).Select(p => $"Question: {p.Question}\nAnswer: {p.Solution}").ToList();
        var tok = Tokenizer(problems);
        var blocks = new MaskedLMBlockEncoder(tok, 64).Encode(problems);
        var config = new BertConfig
        {
            VocabSize = tok.VocabSize, HiddenSize = 32, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 64,
            MaxPositionEmbeddings = 64, PadTokenId = tok.PadId ?? 0,
        };
        manual_seed(1);
        using var model = new BertForReplacedTokenDetection(config);
        var trainer = new ReplacedTokenTrainer(new TrainerOptions { LearningRate = 3e-3, MaxSteps = 60, MicroBatchSize = 16, Seed = 1 }, tok);
        var (lossBefore, _) = trainer.Evaluate(model, blocks, 16, seed: 3);
        trainer.Train(model, blocks, cancellationToken: TestContext.Current.CancellationToken);
        var (lossAfter, _) = trainer.Evaluate(model, blocks, 16, seed: 3);
        // Predicting the 15 % base rate everywhere gives H(0.15) = 0.423 nats: the model must beat that, not just learn the rate.
        Assert.True(lossBefore > 0.5, $"loss before {lossBefore}");
        Assert.True(lossAfter < 0.40, $"loss after {lossAfter}");

        model.SavePretrained(Path.Combine(_folder, "encoder"));
        using var classifier = BertForSequenceClassification.FromPretrained(Path.Combine(_folder, "encoder"), numLabels: 1);
        Assert.Equal(config.HiddenSize, classifier.Config.HiddenSize);
    }

    private TextTokenizer Tokenizer(IEnumerable<string> texts)
    {
        DigitWordPieceVocabulary.Write(texts, _folder);
        return TextTokenizer.FromPretrained(_folder);
    }
}
