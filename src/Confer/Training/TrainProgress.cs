namespace Confer.Training;

/// <summary>A progress report after an optimiser step, for progress bars and logs.</summary>
/// <param name="Step">Optimiser steps done so far (1-based).</param>
/// <param name="TotalSteps">Steps the run will take.</param>
/// <param name="Epoch">0-based epoch the step's data came from.</param>
/// <param name="Loss">Mean token loss of this step (without the proximal term).</param>
/// <param name="LearningRate">Rate used for this step.</param>
/// <param name="TokensPerSecond">Real (non-padding) input tokens per second since the previous report.</param>
/// <param name="GradNorm">Global gradient L2 norm before clipping.</param>
public sealed record TrainProgress(int Step, int TotalSteps, int Epoch, double Loss, double LearningRate, double TokensPerSecond, double GradNorm);
