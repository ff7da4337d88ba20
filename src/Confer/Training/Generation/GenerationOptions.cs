namespace Confer.Training.Generation;

/// <summary>
/// Decoding settings. Temperature 0 means greedy; otherwise logits are divided by the temperature, filtered by
/// top-k and top-p (nucleus), and sampled from a generator seeded with <see cref="Seed"/>, so the same seed gives the
/// same text.
/// </summary>
public sealed record GenerationOptions
{
    public int MaxNewTokens { get; init; } = 128;
    public double Temperature { get; init; }
    public int TopK { get; init; }
    public double TopP { get; init; } = 1.0;
    public IReadOnlyList<string> StopStrings { get; init; } = [];
    public long Seed { get; init; }

    /// <summary>transformers' repetition_penalty: &gt; 1 lowers the logits of tokens already in the sequence; 1 = off.</summary>
    public double RepetitionPenalty { get; init; } = 1.0;

    /// <summary>Token ids that end a sequence (generation_config.json's eos_token_id list); null = the tokenizer's EOS.</summary>
    public IReadOnlyList<int>? EosTokenIds { get; init; }

    /// <summary>
    /// One seed per prompt of the batch: row b samples from its own generator seeded <c>RowSeeds[b]</c>, so a row's
    /// text does not depend on which other rows share its batch (a row seeded s samples exactly as a batch of one with
    /// <see cref="Seed"/> s). Null: the whole batch draws from one generator seeded <see cref="Seed"/>.
    /// </summary>
    public IReadOnlyList<long>? RowSeeds { get; init; }

    /// <summary>Incremental decoding with a KV cache (default); off recomputes the whole prefix every step.</summary>
    public bool UseCache { get; init; } = true;

    public void Validate()
    {
        if (MaxNewTokens < 0) throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, "max_new_tokens must be ≥ 0.");
        if (Temperature < 0) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "temperature must be ≥ 0 (0 = greedy).");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "top_k must be ≥ 0 (0 = off).");
        if (TopP is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "top_p must be in (0, 1].");
        if (RepetitionPenalty <= 0) throw new ArgumentOutOfRangeException(nameof(RepetitionPenalty), RepetitionPenalty, "repetition_penalty must be > 0 (1 = off).");
    }
}
