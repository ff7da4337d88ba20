using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Confer.Training;

/// <summary>
/// The optimiser-step bookkeeping every trainer shares: the learning rate of each step (schedule with warm-up),
/// zeroing gradients, the FedProx term, clipping, the update, per-step statistics and progress reports. A trainer
/// plans its steps and supplies only "accumulate this step's gradients", so causal-LM fine-tuning and masked-LM
/// pre-training cannot drift apart in how they step.
/// </summary>
internal sealed class OptimizerStepLoop(TrainerOptions options, IReadOnlyList<Parameter> parameters, optim.Optimizer optimizer, ProximalTerm? proximal = null)
{
    /// <param name="plan">The steps in order, each with its epoch; exactly <paramref name="totalSteps"/> of them.</param>
    /// <param name="totalSteps">Steps in the plan (sets the schedule and the last progress report).</param>
    /// <param name="accumulate">Runs forward/backward for one step, leaving summed gradients; a step with no target token changes nothing.</param>
    /// <param name="progress">Called every <see cref="TrainerOptions.LogEvery"/> steps and after the last step.</param>
    /// <param name="cancellationToken">Checked between steps.</param>
    public TrainResult Run<TStep>(IEnumerable<(int Epoch, TStep Step)> plan, int totalSteps, Func<TStep, StepStats> accumulate,
        Action<TrainProgress>? progress, CancellationToken cancellationToken)
    {
        var warmup = ScheduleMultiplier.WarmupSteps(options, totalSteps);
        var losses = new List<double>(totalSteps);
        double lossSum = 0;
        long tokens = 0, targets = 0, seen = 0, tokensSinceReport = 0;
        var clock = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;

        foreach (var (epoch, step) in plan)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var lr = options.LearningRate * ScheduleMultiplier.At(options.Schedule, losses.Count, warmup, totalSteps);
            foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;

            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var stats = accumulate(step);
            var gradNorm = double.NaN;
            if (stats.TargetTokens > 0) // a step whose examples have no target token carries no signal: skip the update
            {
                proximal?.AddGradient();
                gradNorm = options.MaxGradNorm is { } maxNorm ? nn.utils.clip_grad_norm_(parameters, maxNorm) : GradientNorm();
                optimizer.step();
            }

            losses.Add(stats.MeanLoss);
            lossSum += stats.LossSum;
            tokens += stats.Tokens;
            targets += stats.TargetTokens;
            seen += stats.Examples;
            tokensSinceReport += stats.Tokens;
            if (progress is not null && (losses.Count % options.LogEvery == 0 || losses.Count == totalSteps))
            {
                var now = clock.Elapsed;
                var seconds = Math.Max((now - lastReport).TotalSeconds, 1e-9);
                progress(new TrainProgress(losses.Count, totalSteps, epoch, stats.MeanLoss, lr, tokensSinceReport / seconds, gradNorm));
                lastReport = now;
                tokensSinceReport = 0;
            }
        }
        return new TrainResult(losses.Count, targets == 0 ? double.NaN : lossSum / targets, tokens, targets, seen, clock.Elapsed.TotalSeconds, losses);
    }

    private double GradientNorm()
    {
        using var _ = no_grad();
        var squares = parameters.Where(p => p.grad is not null).Select(p => p.grad!.to(ScalarType.Float32).square().sum()).ToList();
        return squares.Count == 0 ? 0 : Math.Sqrt(torch.stack(squares).sum().item<float>());
    }
}
