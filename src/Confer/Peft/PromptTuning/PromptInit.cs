namespace Confer.Peft.PromptTuning;

/// <summary>How a fresh soft prompt is drawn (config key <c>prompt_init</c>).</summary>
public enum PromptInit
{
    /// <summary>
    /// Rows of the token embedding table at uniformly drawn token ids (PEFT <c>SAMPLE_VOCAB</c>; Lester et al. found
    /// vocabulary initialisation better than random): the prompt starts at the scale the model was trained on.
    /// </summary>
    Vocab,

    /// <summary>N(0, 1), the initialisation of PEFT's default <c>RANDOM</c> (a fresh <c>torch.nn.Embedding</c>).</summary>
    Random,
}
