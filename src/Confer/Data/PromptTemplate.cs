using System.Text;
using System.Text.Json;

namespace Confer.Data;

/// <summary>
/// A prompt template in the Shepherd / alpaca-lora JSON format
/// (<c>{"description", "prompt_input", "prompt_no_input", "response_split"}</c>), so templates written for those
/// projects work unchanged. Placeholders follow Python <c>str.format</c>: <c>{instruction}</c>, <c>{input}</c>,
/// and <c>{{</c>/<c>}}</c> for literal braces. Templates are validated on load so a typo fails before training starts.
/// </summary>
public sealed class PromptTemplate
{
    /// <summary>Folder, relative to the repository (or working directory), where named templates live.</summary>
    public const string TemplateFolder = "templates";

    private PromptTemplate(string description, string promptInput, string promptNoInput, string responseSplit, string source)
    {
        Description = description;
        PromptInput = promptInput;
        PromptNoInput = promptNoInput;
        ResponseSplit = responseSplit;
        Source = source;
    }

    public string Description { get; }

    /// <summary>Template used when the record has a non-empty input; contains <c>{instruction}</c> and <c>{input}</c>.</summary>
    public string PromptInput { get; }

    /// <summary>Template used when the input is empty; contains <c>{instruction}</c> only.</summary>
    public string PromptNoInput { get; }

    /// <summary>Marker after which the model's response starts (e.g. <c>### Response:</c>); used to cut generations.</summary>
    public string ResponseSplit { get; }

    /// <summary>File the template came from, for error messages and run records.</summary>
    public string Source { get; }

    /// <summary>
    /// Loads a template from a file path, or by name from <c>templates/&lt;name&gt;.json</c> looked up in the working
    /// directory and then in each folder above the application's base directory (which finds the repository's
    /// <c>templates/</c> from build outputs).
    /// </summary>
    public static PromptTemplate Load(string nameOrPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrPath);
        if (File.Exists(nameOrPath)) return LoadFile(nameOrPath);
        if (nameOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || nameOrPath.Contains(Path.DirectorySeparatorChar))
            throw new FileNotFoundException($"Prompt template file '{nameOrPath}' does not exist.", nameOrPath);

        var searched = CandidateFolders().ToList();
        foreach (var folder in searched)
        {
            var file = Path.Combine(folder, nameOrPath + ".json");
            if (File.Exists(file)) return LoadFile(file);
        }
        throw new FileNotFoundException(
            $"No prompt template named '{nameOrPath}'. Looked for {nameOrPath}.json in: {string.Join(", ", searched)}. " +
            "Pass a path to a template JSON file or add the file to one of those folders.");
    }

    /// <summary>Parses and validates a template JSON file.</summary>
    public static PromptTemplate LoadFile(string path)
    {
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Prompt template '{path}' is not valid JSON ({e.Message}).", e);
        }
        if (root.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"Prompt template '{path}' must be a JSON object.");

        var template = new PromptTemplate(
            JsonRecordFile.GetOptionalString(root, "description", path, 0) ?? "",
            Required(root, "prompt_input", path),
            Required(root, "prompt_no_input", path),
            Required(root, "response_split", path),
            path);
        template.Validate();
        return template;
    }

    /// <summary>Fills the template for one record: the no-input form when <paramref name="input"/> is empty.</summary>
    internal string Fill(string instruction, string input) =>
        string.IsNullOrEmpty(input)
            ? Format(PromptNoInput, instruction, input, "prompt_no_input")
            : Format(PromptInput, instruction, input, "prompt_input");

    private void Validate()
    {
        RequirePlaceholders(PromptInput, "prompt_input", needsInput: true);
        RequirePlaceholders(PromptNoInput, "prompt_no_input", needsInput: false);
        if (string.IsNullOrEmpty(ResponseSplit))
            throw new InvalidDataException($"Prompt template '{Source}': 'response_split' must not be empty.");
        foreach (var (text, field) in new[] { (PromptInput, "prompt_input"), (PromptNoInput, "prompt_no_input") })
        {
            // Format with marker values: this also rejects unknown placeholders and stray braces.
            if (!Format(text, "x", "y", field).Contains(ResponseSplit, StringComparison.Ordinal))
                throw new InvalidDataException(
                    $"Prompt template '{Source}': '{field}' does not contain the response_split marker '{ResponseSplit}'.");
        }
    }

    private void RequirePlaceholders(string text, string field, bool needsInput)
    {
        if (!text.Contains("{instruction}", StringComparison.Ordinal))
            throw new InvalidDataException($"Prompt template '{Source}': '{field}' has no {{instruction}} placeholder.");
        if (needsInput != text.Contains("{input}", StringComparison.Ordinal))
            throw new InvalidDataException(needsInput
                ? $"Prompt template '{Source}': 'prompt_input' has no {{input}} placeholder."
                : $"Prompt template '{Source}': 'prompt_no_input' must not use {{input}}.");
    }

    /// <summary>Single-pass str.format subset: substituted values are never re-scanned, so an instruction that itself
    /// contains "{input}" stays literal.</summary>
    private string Format(string template, string instruction, string input, string field)
    {
        var sb = new StringBuilder(template.Length + instruction.Length + input.Length);
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if ((c == '{' || c == '}') && i + 1 < template.Length && template[i + 1] == c)
            {
                sb.Append(c);
                i++;
            }
            else if (c == '{')
            {
                var end = template.IndexOf('}', i + 1);
                var name = end < 0 ? "" : template[(i + 1)..end];
                sb.Append(name switch
                {
                    "instruction" => instruction,
                    "input" => input,
                    _ => throw new InvalidDataException(
                        $"Prompt template '{Source}': '{field}' has an unknown placeholder or stray '{{' at character {i}; " +
                        "only {instruction} and {input} are allowed (write {{ for a literal brace)."),
                });
                i = end;
            }
            else if (c == '}')
            {
                throw new InvalidDataException(
                    $"Prompt template '{Source}': '{field}' has a stray '}}' at character {i} (write }}}} for a literal brace).");
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    private static string Required(JsonElement root, string field, string path) =>
        JsonRecordFile.GetOptionalString(root, field, path, 0)
        ?? throw new InvalidDataException($"Prompt template '{path}' is missing required field '{field}'.");

    private static IEnumerable<string> CandidateFolders()
    {
        yield return Path.GetFullPath(TemplateFolder);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            yield return Path.Combine(dir.FullName, TemplateFolder);
    }
}
