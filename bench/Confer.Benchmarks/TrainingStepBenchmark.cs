using BenchmarkDotNet.Attributes;
using Confer.Data;
using Confer.Models.Llama;
using Confer.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Confer.Benchmarks;

/// <summary>
/// One LoRA optimiser step on config S (seq 256, batch 8 = 2,048 tokens): forward, shifted cross-entropy, backward
/// and AdamW, the work <see cref="LocalTrainer"/> repeats every step.
/// </summary>
[MemoryDiagnoser(displayGenColumns: false)]
public class TrainingStepBenchmark
{
    private const int Sequence = 256;
    private const int Batch = 8;
    private LlamaForCausalLM _model = null!;
    private optim.Optimizer _optimizer = null!;
    private List<Parameter> _trainable = null!;
    private IReadOnlyList<IReadOnlyList<TokenizedExample>> _microBatches = null!;

    [GlobalSetup]
    public void Setup()
    {
        _model = BenchModels.WithLora(BenchModels.S);
        _model.train();
        _trainable = _model.parameters().Where(p => p.requires_grad).ToList();
        _optimizer = optim.AdamW(_trainable, 1e-4);
        var random = new Random(42);
        var examples = Enumerable.Range(0, Batch).Select(_ =>
        {
            var ids = Enumerable.Range(0, Sequence).Select(_ => random.Next(BenchModels.S.VocabSize)).ToArray();
            return new TokenizedExample(ids, (int[])ids.Clone());
        }).ToArray();
        _microBatches = [examples];
    }

    [Benchmark(Description = "LoRA train step, config S (2,048 tokens)")]
    public double Step()
    {
        using var scope = NewDisposeScope();
        _optimizer.zero_grad();
        var stats = LocalTrainer.AccumulateGradients(_model, _microBatches, padTokenId: 0, CPU);
        nn.utils.clip_grad_norm_(_trainable, 1.0);
        _optimizer.step();
        return stats.LossSum;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _optimizer.Dispose();
        _model.Dispose();
    }
}
