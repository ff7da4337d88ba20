using Confer.Data;
using Confer.Federation.Clients;
using Confer.Training;
using static TorchSharp.torch;

namespace Confer.Federation.Simulation;

/// <summary>
/// Measures this machine's local training throughput on the run's model, PEFT method and recipe: the reference a
/// simulated device's <c>speed</c> is relative to (<c>device_tokens_per_second</c>). One untimed step warms up
/// allocators and kernels, then a few timed steps on one client's data give tokens per second.
/// </summary>
internal static class ThroughputProbe
{
    private const int TimedSteps = 4;

    public static double Measure(ClientModel model, IReadOnlyList<TokenizedExample> examples, TrainerOptions training, SimulationSettings s)
    {
        try
        {
            TrainResult Steps(int steps, int seed)
            {
                model.SetBase(null);
                using (var g = new Generator((ulong)seed)) model.AttachAdapters(null, s.LoraRank, s.LoraAlpha, 0, g);
                return new LocalTrainer(training with { MaxSteps = steps, Seed = seed }).Train(model.CausalLM, examples);
            }
            Steps(1, 1);
            var timed = Steps(TimedSteps, 2);
            var tps = timed.Tokens / Math.Max(timed.Seconds, 1e-6);
            // Three significant digits: the number is a calibration, and config.yaml stays readable.
            var scale = Math.Pow(10, Math.Floor(Math.Log10(tps)) - 2);
            return Math.Round(tps / scale) * scale;
        }
        finally
        {
            model.SetBase(null);
        }
    }
}
