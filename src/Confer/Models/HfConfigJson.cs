using System.Text.Json;

namespace Confer.Models;

/// <summary>Reads a Hugging Face <c>config.json</c> into a config class, turning JSON errors into messages that name the file.</summary>
internal static class HfConfigJson
{
    public static T Read<T>(string path) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty model config.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid Hugging Face config.json ({e.Message}).", e);
        }
    }
}
