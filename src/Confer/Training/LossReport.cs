namespace Confer.Training;

/// <summary>Language-modelling quality on a data set.</summary>
/// <param name="MeanLoss">Token-weighted mean cross-entropy (nats per target token).</param>
/// <param name="Perplexity">exp(<paramref name="MeanLoss"/>).</param>
/// <param name="TargetTokens">Tokens the loss was averaged over.</param>
/// <param name="Examples">Examples evaluated.</param>
public sealed record LossReport(double MeanLoss, double Perplexity, long TargetTokens, int Examples);
