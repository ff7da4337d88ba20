namespace Confer.Data;

/// <summary>How instruction records become training examples.</summary>
public sealed record ExampleEncoderOptions
{
    /// <summary>Cut-off length in tokens, BOS and EOS included (Shepherd's <c>cutoff_len</c>, 512).</summary>
    public int MaxLength { get; init; } = 512;

    /// <summary>Also train on the prompt tokens. Off by default so the loss covers only the response; note that
    /// Shepherd and alpaca-lora default to on.</summary>
    public bool TrainOnInputs { get; init; }

    /// <summary>Keep examples whose response was cut off entirely by <see cref="MaxLength"/>. Off by default: without
    /// <see cref="TrainOnInputs"/> they carry no target token, and with it they teach only the prompt.</summary>
    public bool KeepFullyTruncated { get; init; }

    /// <summary>
    /// When an example does not fit, first shorten the record's input/context (keeping its beginning) so that the
    /// instruction and the response survive; only then cut the tail. On by default: long Dolly contexts would otherwise
    /// lose their whole response and be dropped. Off reproduces alpaca-lora's plain right truncation.
    /// </summary>
    public bool ShortenInputFirst { get; init; } = true;

    public void Validate()
    {
        if (MaxLength < 2) throw new ArgumentException($"ExampleEncoderOptions.MaxLength must be ≥ 2 (was {MaxLength}).", nameof(MaxLength));
    }
}
