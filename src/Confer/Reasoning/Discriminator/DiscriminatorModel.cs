using Confer.Federation.Clients;
using Confer.Models;
using Confer.Models.Bert;
using Confer.Tokenizers;
using static TorchSharp.torch;

namespace Confer.Reasoning.Discriminator;

/// <summary>
/// Opens an encoder folder — the shipped <c>confer pretrain --arch bert</c> model or any Hugging Face BERT folder — as
/// FedCoT's discriminator: the encoder with a one-logit classification head, wrapped in a <see cref="ClientModel"/>
/// that puts LoRA on the target modules and trains the head in full (the head travels with the adapter).
/// </summary>
public static class DiscriminatorModel
{
    /// <summary>The head's parameters, trained in full and aggregated by weighted average.</summary>
    public static readonly IReadOnlyList<string> HeadParameters = ["classifier.weight", "classifier.bias"];

    /// <summary>
    /// Loads <paramref name="folder"/>. Parameters the checkpoint lacks (the head; the pooler of a masked-LM checkpoint)
    /// are initialised from <paramref name="seed"/>, so the server and every client process build the same model.
    /// </summary>
    public static (ClientModel Model, TextTokenizer Tokenizer) Load(string folder, IReadOnlyList<string> loraTargets, int seed, Device? device = null)
    {
        var tokenizer = TextTokenizer.FromPretrained(folder);
        manual_seed(seed);
        var encoder = ModelFactory.LoadEncoder(folder, numLabels: 1, device);
        try
        {
            return (new ClientModel(encoder, loraTargets, HeadParameters), tokenizer);
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }
}
