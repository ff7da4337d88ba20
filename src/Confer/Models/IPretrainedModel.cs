namespace Confer.Models;

/// <summary>A model that writes itself as a Hugging Face folder (<c>config.json</c> + weights, adapters excluded), so a federated run can export whatever it trained.</summary>
public interface IPretrainedModel
{
    /// <summary>Writes <c>config.json</c> and the base weights into <paramref name="folder"/>.</summary>
    void SavePretrained(string folder);
}
