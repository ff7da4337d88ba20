using System.Text.Json;

namespace Confer.Peft;

/// <summary>
/// What an adapter records as its base model: PEFT writes the name the base was loaded by (a hub id such as
/// "meta-llama/Llama-3.2-1B"). For a local folder that is the <c>_name_or_path</c> in its config.json when the model
/// has one, else the folder's own name; a relative path would mean nothing on another machine.
/// </summary>
public static class BaseModelName
{
    public static string? Of(string? nameOrFolder)
    {
        if (string.IsNullOrEmpty(nameOrFolder) || !Directory.Exists(nameOrFolder)) return nameOrFolder;
        string config = Path.Combine(nameOrFolder, "config.json");
        if (File.Exists(config))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(config));
                if (doc.RootElement.TryGetProperty("_name_or_path", out var name) && name.ValueKind == JsonValueKind.String && name.GetString() is { Length: > 0 } recorded)
                    return recorded;
            }
            catch (JsonException)
            {
                // The model loader reports a broken config.json; the folder name is still a fair record.
            }
        }
        return new DirectoryInfo(Path.GetFullPath(nameOrFolder)).Name;
    }
}
