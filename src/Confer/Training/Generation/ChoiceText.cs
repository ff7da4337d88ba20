using Confer.Tokenizers;

namespace Confer.Training.Generation;

/// <summary>
/// The text of one choice as its tokens arrive: cut at the first stop string, and released piece by piece only once
/// it is final — text that could still turn into a stop string (the tail "\nUs" while "\nUser:" is a stop) or into a
/// different character (an unfinished UTF-8 sequence, which decodes as U+FFFD) is held back. So the pieces released
/// add up to exactly the choice's final text.
/// </summary>
internal sealed class ChoiceText(TextTokenizer tokenizer, IReadOnlyList<string> stops)
{
    private string _released = "";
    private string? _final;

    /// <summary>True once the text reached a stop string (generation of this choice can end).</summary>
    public bool Stopped { get; private set; }

    /// <summary>The newly final text after <paramref name="tokens"/> (every token generated so far), possibly empty.</summary>
    public string Push(IReadOnlyList<int> tokens)
    {
        var text = tokenizer.Decode(tokens);
        var cut = FirstStop(text);
        if (cut < 0) return Release(text[..SafeLength(text)]);
        Stopped = true;
        _final = text[..cut];
        return Release(_final);
    }

    /// <summary>Ends the choice with all of its <paramref name="tokens"/>: the rest of its text, possibly empty.</summary>
    public string Finish(IReadOnlyList<int> tokens)
    {
        if (_final is null)
        {
            var text = tokenizer.Decode(tokens);
            var cut = FirstStop(text);
            _final = cut < 0 ? text : text[..cut];
        }
        return Release(_final);
    }

    /// <summary>The whole text once finished.</summary>
    public string Text => _final ?? throw new InvalidOperationException("The choice has not finished.");

    private string Release(string text)
    {
        // Decoding more tokens only appends to the text for the tokenizers Confer reads (the held-back tails above
        // are the exceptions); should a decoder ever rewrite earlier text, nothing more is released for this choice
        // rather than releasing text that contradicts what was already sent.
        if (!text.StartsWith(_released, StringComparison.Ordinal)) return "";
        var delta = text[_released.Length..];
        _released = text;
        return delta;
    }

    private int FirstStop(string text)
    {
        var first = -1;
        foreach (var stop in stops)
        {
            var at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first)) first = at;
        }
        return first;
    }

    /// <summary>The length of the prefix of <paramref name="text"/> that no further token can change.</summary>
    private int SafeLength(string text)
    {
        var safe = text.Length;
        while (safe > 0 && text[safe - 1] == '\uFFFD') safe--;
        // Before an unfinished character the tail is checked too: that character may be the one a stop string needs next.
        var settled = safe;
        foreach (var stop in stops)
            for (var keep = Math.Min(stop.Length - 1, settled); keep > 0; keep--)
                if (text.AsSpan(settled - keep, keep).SequenceEqual(stop.AsSpan(0, keep)))
                {
                    safe = Math.Min(safe, settled - keep);
                    break;
                }
        return safe;
    }
}
