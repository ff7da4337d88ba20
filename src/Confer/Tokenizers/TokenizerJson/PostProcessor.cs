using System.Text.Json;

namespace Confer.Tokenizers.TokenizerJson;

/// <summary>
/// What the <c>post_processor</c> of a <c>tokenizer.json</c> adds around a single sequence when special tokens are
/// asked for (HF <c>add_special_tokens=True</c>): <c>TemplateProcessing</c>'s special tokens before and after
/// <c>$A</c>; <c>ByteLevel</c> only trims offsets and adds nothing.
/// </summary>
internal sealed record PostProcessor(IReadOnlyList<int> Prefix, IReadOnlyList<int> Suffix)
{
    public static readonly PostProcessor None = new([], []);

    public static PostProcessor Read(JsonElement processor, string path)
    {
        if (processor.ValueKind == JsonValueKind.Null) return None;
        string type = TokenizerJsonFields.TypeOf(processor, path, "post_processor");
        switch (type)
        {
            case "ByteLevel":
                return None;
            case "TemplateProcessing":
                return ReadTemplate(processor, path);
            case "Sequence":
                var parts = processor.GetProperty("processors").EnumerateArray().Select(p => Read(p, path)).Where(p => p != None).ToList();
                return parts.Count switch
                {
                    0 => None,
                    1 => parts[0],
                    _ => throw TokenizerJsonError.Unsupported(path, "post_processor", "Sequence with several TemplateProcessing", "one TemplateProcessing"),
                };
            default:
                throw TokenizerJsonError.Unsupported(path, "post_processor", type, "ByteLevel, TemplateProcessing and Sequence of them");
        }
    }

    private static PostProcessor ReadTemplate(JsonElement template, string path)
    {
        var specials = template.GetProperty("special_tokens");
        var prefix = new List<int>();
        var suffix = new List<int>();
        bool seenSequence = false;
        foreach (var item in template.GetProperty("single").EnumerateArray())
        {
            if (item.TryGetProperty("Sequence", out var sequence))
            {
                if (TokenizerJsonFields.Text(sequence, "id") != "A") throw TokenizerJsonError.Invalid(path, "TemplateProcessing 'single' must use sequence $A");
                seenSequence = true;
            }
            else if (item.TryGetProperty("SpecialToken", out var special))
            {
                string name = TokenizerJsonFields.Text(special, "id") ?? throw TokenizerJsonError.Invalid(path, "TemplateProcessing SpecialToken without id");
                if (!specials.TryGetProperty(name, out var entry))
                    throw TokenizerJsonError.Invalid(path, $"TemplateProcessing uses '{name}', which its special_tokens does not define");
                (seenSequence ? suffix : prefix).AddRange(entry.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()));
            }
            else throw TokenizerJsonError.Invalid(path, $"TemplateProcessing item {item.GetRawText()} is neither Sequence nor SpecialToken");
        }
        if (!seenSequence) throw TokenizerJsonError.Invalid(path, "TemplateProcessing 'single' has no $A");
        return new PostProcessor(prefix, suffix);
    }
}
