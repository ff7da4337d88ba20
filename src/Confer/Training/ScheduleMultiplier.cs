namespace Confer.Training;

/// <summary>
/// The learning-rate multiplier for an optimiser step, matching Hugging Face's <c>get_*_schedule_with_warmup</c>
/// lambdas so that recipes (Shepherd, OpenFedLLM) transfer: step s (0-based) of T with W warm-up steps gets s/W during
/// warm-up, then 1 (constant), (T−s)/(T−W) (linear) or ½(1+cos(π(s−W)/(T−W))) (cosine). With W &gt; 0 the first step
/// therefore runs at rate 0, exactly as in Hugging Face.
/// </summary>
internal static class ScheduleMultiplier
{
    public static double At(LearningRateSchedule schedule, int step, int warmupSteps, int totalSteps)
    {
        if (step < warmupSteps) return (double)step / Math.Max(1, warmupSteps);
        if (schedule == LearningRateSchedule.Constant) return 1.0;
        var progress = (double)(step - warmupSteps) / Math.Max(1, totalSteps - warmupSteps);
        return schedule switch
        {
            LearningRateSchedule.Linear => Math.Max(0.0, 1.0 - progress),
            LearningRateSchedule.Cosine => Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * progress))),
            _ => throw new ArgumentOutOfRangeException(nameof(schedule), schedule, "Unknown learning-rate schedule."),
        };
    }

    /// <summary>Warm-up length: explicit steps win over the ratio; the ratio rounds up, as in Hugging Face.</summary>
    public static int WarmupSteps(TrainerOptions options, int totalSteps) =>
        options.WarmupSteps > 0 ? options.WarmupSteps : (int)Math.Ceiling(options.WarmupRatio * totalSteps);
}
