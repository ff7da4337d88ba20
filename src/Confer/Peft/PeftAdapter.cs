using Confer.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Confer.Peft;

/// <summary>
/// Adapter folders in PEFT's format: <c>adapter_config.json</c> + <c>adapter_model.safetensors</c> with keys
/// <c>base_model.model.&lt;module&gt;.lora_A.weight</c> / <c>.lora_B.weight</c>, loadable by <c>PeftModel.from_pretrained</c>.
/// </summary>
public static class PeftAdapter
{
    public const string ConfigFile = "adapter_config.json";
    public const string WeightsFile = "adapter_model.safetensors";

    private static readonly Dictionary<string, string> Metadata = new() { ["format"] = "pt" };

    /// <summary>Saves the adapter attached to <paramref name="model"/>.</summary>
    public static void Save(string folder, nn.Module model, LoraConfig config)
    {
        using var tensors = LoraModel.Capture(model);
        Save(folder, tensors, config);
    }

    /// <summary>
    /// Saves adapter tensors held outside a model (e.g. a server's global adapter). A base_model_name_or_path that names
    /// a model folder on this machine is recorded as that model's own name (see <see cref="BaseModelName"/>), so the
    /// file means the same thing elsewhere.
    /// </summary>
    public static void Save(string folder, NamedTensors tensors, LoraConfig config)
    {
        Directory.CreateDirectory(folder);
        Safetensors.Save(Path.Combine(folder, WeightsFile), tensors, Metadata);
        string? baseName = config.BaseModelNameOrPath;
        config.BaseModelNameOrPath = BaseModelName.Of(baseName);
        try
        {
            AtomicFile.WriteAllText(Path.Combine(folder, ConfigFile), config.ToJson());
        }
        finally
        {
            config.BaseModelNameOrPath = baseName;
        }
    }

    public static LoraConfig ReadConfig(string folder)
    {
        var path = Path.Combine(folder, ConfigFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"'{folder}' is not a PEFT adapter folder: {ConfigFile} is missing.", path);
        return LoraConfig.Load(path);
    }

    public static NamedTensors ReadTensors(string folder)
    {
        var path = Path.Combine(folder, WeightsFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"'{folder}' is not a PEFT adapter folder: {WeightsFile} is missing.", path);
        return Safetensors.Load(path);
    }

    /// <summary>
    /// Attaches adapters as described by the folder's config (ranks per module from its rank_pattern) and loads the
    /// weights; a mismatch with the model names the tensor and nothing is loaded.
    /// </summary>
    public static LoraConfig Load(string folder, nn.Module model)
    {
        var config = ReadConfig(folder);
        using var tensors = ReadTensors(folder);
        LoraModel.Attach(model, config);
        try
        {
            LoraModel.Assign(model, tensors, Path.Combine(folder, WeightsFile));
        }
        catch
        {
            LoraModel.Detach(model);
            throw;
        }
        return config;
    }
}
