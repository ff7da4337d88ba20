using System.Text;
using System.Text.Json;

namespace Confer.Tokenizers.TokenizerJson;

/// <summary>
/// The <c>normalizer</c> of a <c>tokenizer.json</c>: none, a Unicode normal form (NFC, NFD, NFKC, NFKD) or a
/// <c>Sequence</c> of them. Other normalizers (Replace, Prepend, Lowercase, BertNormalizer ...) are refused by name.
/// </summary>
internal sealed class UnicodeNormalizer
{
    private readonly IReadOnlyList<IcuNormalizer> _steps;

    private UnicodeNormalizer(IReadOnlyList<IcuNormalizer> steps) => _steps = steps;

    public static UnicodeNormalizer? Read(JsonElement normalizer, string path)
    {
        if (normalizer.ValueKind == JsonValueKind.Null) return null;
        var forms = new List<NormalizationForm>();
        Collect(normalizer, path, forms);
        return forms.Count == 0 ? null : new UnicodeNormalizer(forms.Select(IcuNormalizer.Create).ToList());
    }

    private static void Collect(JsonElement normalizer, string path, List<NormalizationForm> forms)
    {
        string type = TokenizerJsonFields.TypeOf(normalizer, path, "normalizer");
        switch (type)
        {
            case "NFC": forms.Add(NormalizationForm.FormC); break;
            case "NFD": forms.Add(NormalizationForm.FormD); break;
            case "NFKC": forms.Add(NormalizationForm.FormKC); break;
            case "NFKD": forms.Add(NormalizationForm.FormKD); break;
            case "Sequence":
                foreach (var step in normalizer.GetProperty("normalizers").EnumerateArray()) Collect(step, path, forms);
                break;
            default: throw TokenizerJsonError.Unsupported(path, "normalizer", type, "NFC, NFD, NFKC, NFKD and Sequence of them");
        }
    }

    public string Apply(string text)
    {
        // ASCII is invariant under every normal form; skipping ICU for it keeps English text fast.
        if (!text.AsSpan().ContainsAnyExceptInRange('\0', '\x7f')) return text;
        foreach (var step in _steps) text = step.Apply(text);
        return text;
    }
}
