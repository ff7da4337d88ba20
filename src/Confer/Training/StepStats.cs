namespace Confer.Training;

/// <summary>What one optimiser step consumed and its summed loss (internal bookkeeping of <see cref="LocalTrainer"/>).</summary>
internal readonly record struct StepStats(double LossSum, long Tokens, long TargetTokens, int Examples)
{
    public double MeanLoss => TargetTokens == 0 ? double.NaN : LossSum / TargetTokens;
}
