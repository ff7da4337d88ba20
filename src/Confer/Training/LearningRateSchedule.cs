namespace Confer.Training;

/// <summary>How the learning rate decays after warm-up (the Hugging Face schedules of the same names).</summary>
public enum LearningRateSchedule
{
    /// <summary>Warm-up, then the base rate.</summary>
    Constant,

    /// <summary>Warm-up, then linear decay to 0 at the last step.</summary>
    Linear,

    /// <summary>Warm-up, then half a cosine down to 0 at the last step.</summary>
    Cosine,
}
