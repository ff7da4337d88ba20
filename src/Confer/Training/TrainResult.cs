namespace Confer.Training;

/// <summary>Summary of a local training run; what a federated client reports alongside its update.</summary>
/// <param name="Steps">Optimiser steps taken.</param>
/// <param name="MeanLoss">Token-weighted mean loss over the run (total cross-entropy / total target tokens).</param>
/// <param name="Tokens">Real (non-padding) input tokens processed.</param>
/// <param name="TargetTokens">Tokens the loss was computed on.</param>
/// <param name="Examples">Examples processed, counting repeats across epochs.</param>
/// <param name="Seconds">Wall-clock time of the loop.</param>
/// <param name="StepLosses">Mean token loss of each step, in order; NaN for a step whose examples had no target token
/// (such a step makes no update).</param>
public sealed record TrainResult(int Steps, double MeanLoss, long Tokens, long TargetTokens, long Examples, double Seconds, IReadOnlyList<double> StepLosses);
