namespace Confer.Training;

/// <summary>What one optimiser step consumed and its summed loss (what a trainer hands to <see cref="OptimizerStepLoop"/>).</summary>
internal readonly record struct StepStats(double LossSum, long Tokens, long TargetTokens, int Examples)
{
    public double MeanLoss => TargetTokens == 0 ? double.NaN : LossSum / TargetTokens;
}
