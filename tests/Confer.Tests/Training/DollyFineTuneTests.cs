using Confer.Data;
using Confer.Models.Llama;
using Confer.Peft;
using Confer.Tokenizers;
using Confer.Training;
using static TorchSharp.torch;

namespace Confer.Tests.Training;

public class DollyFineTuneTests
{
    [Fact]
    public void LoraOnRealDollyExamplesLowersTheirLoss()
    {
        var tokenizer = TextTokenizer.FromPretrained(SharedDataPath.Of("tokenizers", "llama2"));
        var records = InstructionRecordReader.Load(Confer.Tests.Data.DataPaths.DollyShard("global_test.json")).Take(4);
        var encoder = new ExampleEncoder(tokenizer, Prompter.Load("alpaca"), new ExampleEncoderOptions { MaxLength = 32, KeepFullyTruncated = true, TrainOnInputs = true });
        var examples = encoder.EncodeAll(records).Examples;

        manual_seed(1);
        using var model = new LlamaForCausalLM(TinyModels.LlamaConfig(vocab: tokenizer.VocabSize));
        LoraModel.Attach(model, new LoraConfig { Rank = 4, Alpha = 8, Dropout = 0.05 }, new Generator(2));
        var before = Evaluator.EvaluateLoss(model, examples, batchSize: 4);
        var options = new TrainerOptions { LearningRate = 3e-2, MaxSteps = 4, MicroBatchSize = 4 };
        var result = new LocalTrainer(options).Train(model, examples, cancellationToken: TestContext.Current.CancellationToken);
        var after = Evaluator.EvaluateLoss(model, examples, batchSize: 4);

        Assert.Equal(4, result.Steps);
        Assert.All(result.StepLosses, l => Assert.True(double.IsFinite(l)));
        Assert.True(after.MeanLoss < before.MeanLoss - 0.05, $"loss {before.MeanLoss} → {after.MeanLoss}");
    }
}
