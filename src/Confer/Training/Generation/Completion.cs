namespace Confer.Training.Generation;

/// <summary>Why a choice ended, as OpenAI's <c>finish_reason</c> says it.</summary>
public enum FinishReason
{
    /// <summary>The model wrote its end-of-sequence token, or the text reached a stop string.</summary>
    Stop,

    /// <summary>The choice used all of its max_tokens.</summary>
    Length,
}

/// <summary>One generated choice: its text (cut before the first stop string), the tokens generated for it, and why it ended.</summary>
public sealed record Completion(string Text, int Tokens, FinishReason Finish);
