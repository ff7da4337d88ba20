using Confer.Configuration;
using Confer.Federation.Simulation;

namespace Confer.Tests.Federation.Experiments;

/// <summary>The base experiment the grid tests vary: stories260K on Dolly, one round of two local steps on 16 records per client.</summary>
internal static class TinyBaseExperiment
{
    /// <summary>Writes <c>base.yaml</c> into <paramref name="folder"/> (also the run output) and returns its path; <paramref name="adjust"/> changes the settings first.</summary>
    public static string Write(string folder, string model, Action<SimulationSettings>? adjust = null)
    {
        var settings = new SimulationSettings
        {
            Name = "base", Output = folder, Model = model, Rounds = 1,
            Data = SharedDataPath.Of("dolly-15k", "shepherd-10clients"),
            TestData = SharedDataPath.Of("dolly-15k", "shepherd-10clients", "global_test.json"),
            MaxClientRecords = 16, LocalTestFraction = 0, Fraction = 0.2, LocalSteps = 2, MicroBatchSize = 4,
            CutoffLen = 128, LearningRate = 5e-3, LoraRank = 4, LoraAlpha = 8, EvalBatchSize = 16,
        };
        adjust?.Invoke(settings);
        var path = Path.Combine(folder, "base.yaml");
        File.WriteAllText(path, ConfigBinder.ToYaml(settings));
        return path;
    }
}
