using System.Text;

namespace Confer.Tokenizers.TokenizerJson;

/// <summary>
/// GPT-2's byte-level alphabet: every byte maps to one printable character (printable Latin-1 bytes to themselves, the
/// other 68 to U+0100 onwards), so that a vocabulary of strings can hold arbitrary bytes. <c>"Ġ"</c> is the space byte.
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = Build();
    private static readonly Dictionary<char, byte> CharToByte = ByteToChar.Select((c, b) => (c, b)).ToDictionary(p => p.c, p => (byte)p.b);

    private static char[] Build()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    /// <summary>The byte-level form of <paramref name="text"/>: its UTF-8 bytes, one alphabet character each.</summary>
    public static string Encode(ReadOnlySpan<char> text)
    {
        // Most pieces are ASCII, whose UTF-8 bytes are the characters themselves: map them without encoding.
        if (!text.ContainsAnyExceptInRange('\0', '\x7f'))
        {
            Span<char> ascii = text.Length <= 256 ? stackalloc char[text.Length] : new char[text.Length];
            for (int i = 0; i < text.Length; i++) ascii[i] = ByteToChar[text[i]];
            return new string(ascii);
        }
        int count = Encoding.UTF8.GetByteCount(text);
        Span<byte> bytes = count <= 512 ? stackalloc byte[count] : new byte[count];
        Encoding.UTF8.GetBytes(text, bytes);
        Span<char> chars = count <= 512 ? stackalloc char[count] : new char[count];
        for (int i = 0; i < count; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>
    /// Appends the bytes a token stands for, as HF's ByteLevel decoder does: a token of alphabet characters gives their
    /// bytes; one with any other character (an added token such as "&lt;think&gt; x") gives its own UTF-8.
    /// </summary>
    public static void AppendBytes(string token, List<byte> bytes)
    {
        foreach (char c in token)
        {
            if (!CharToByte.ContainsKey(c))
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(token));
                return;
            }
        }
        foreach (char c in token) bytes.Add(CharToByte[c]);
    }
}
