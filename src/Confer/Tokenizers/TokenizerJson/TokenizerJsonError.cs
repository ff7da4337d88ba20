namespace Confer.Tokenizers.TokenizerJson;

/// <summary>The one-line errors of <c>tokenizer.json</c> reading: they name the file, the component and what to do.</summary>
internal static class TokenizerJsonError
{
    public static NotSupportedException Unsupported(string path, string component, string type, string supported) =>
        new($"{path}: {component} type '{type}' is not supported (Confer reads {supported}); use a model whose tokenizer.json has only those, " +
            "or add tokenizer.model / vocab.json + merges.txt for it.");

    public static NotSupportedException UnsupportedValue(string path, string component, string field, string value, string supported) =>
        new($"{path}: {component} with {field} = {value} is not supported (only {supported}); Confer would tokenize differently from Hugging Face.");

    public static InvalidDataException Invalid(string path, string what) => new($"{path}: {what}.");
}
