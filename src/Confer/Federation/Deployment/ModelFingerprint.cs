using System.Security.Cryptography;

namespace Confer.Federation.Deployment;

/// <summary>
/// SHA-256 over a model folder's config and weights, so a client with a different base model is refused at join
/// instead of silently training adapters that mean nothing on the server's model.
/// </summary>
internal static class ModelFingerprint
{
    public static string Of(string modelFolder)
    {
        var files = Directory.GetFiles(modelFolder, "*.safetensors").Append(Path.Combine(modelFolder, "config.json"))
            .Where(File.Exists).Order(StringComparer.Ordinal).ToList();
        if (files.Count < 2) throw new Configuration.ConfigException($"model: '{modelFolder}' has no config.json and *.safetensors weights.");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        foreach (var file in files)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetFileName(file)));
            using var stream = File.OpenRead(file);
            int n;
            while ((n = stream.Read(buffer)) > 0) hash.AppendData(buffer, 0, n);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
