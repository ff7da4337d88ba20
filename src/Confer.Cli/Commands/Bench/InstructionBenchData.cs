using Confer.Data;
using Confer.Tokenizers;

namespace Confer.Cli.Commands.Bench;

/// <summary>Real instruction examples for the training bench, and what encoding them did.</summary>
/// <param name="Examples">The examples the bench trains on, a seeded sample of the encoded data.</param>
/// <param name="Records">Records read.</param>
/// <param name="Encoded">Examples the encoder kept (records whose response the cut-off removed entirely are dropped).</param>
/// <param name="Truncated">Kept examples shortened by the cut-off.</param>
internal sealed record InstructionBenchData(IReadOnlyList<TokenizedExample> Examples, int Records, int Encoded, int Truncated, long PadTokenId)
{
    /// <summary>
    /// Encodes <paramref name="dataPath"/> (a JSON/JSON Lines file, or a folder whose <c>*.json</c> files are read in
    /// name order) exactly as <c>confer simulate</c> does: the prompt template, the cut-off, BOS/EOS, labels on the
    /// response only; then draws <paramref name="count"/> examples with a seeded shuffle.
    /// </summary>
    public static InstructionBenchData Load(string dataPath, string tokenizerFolder, string template, int cutoff, int count, int vocab, int seed)
    {
        var files = Directory.Exists(dataPath)
            ? Directory.GetFiles(dataPath, "*.json").Order(StringComparer.Ordinal).ToArray()
            : File.Exists(dataPath) ? [dataPath] : throw new FileNotFoundException($"--data: '{dataPath}' is neither a file nor a folder.");
        if (files.Length == 0) throw new ArgumentException($"--data: folder '{dataPath}' holds no .json file.");
        var tokenizer = TextTokenizer.FromPretrained(tokenizerFolder);
        if (tokenizer.VocabSize > vocab)
            throw new ArgumentException($"--tokenizer: '{tokenizerFolder}' has {tokenizer.VocabSize} tokens but the bench model's vocabulary is {vocab}; use a tokenizer that fits (config M: the Llama 2 tokenizer, 32,000).");
        var records = InstructionRecordReader.LoadAll(files);
        var encoder = new ExampleEncoder(tokenizer, Prompter.Load(template), new ExampleEncoderOptions { MaxLength = cutoff, TrainOnInputs = false });
        var encoded = encoder.EncodeAll(records);
        if (encoded.Examples.Count < count)
            throw new ArgumentException($"--data: {encoded.Examples.Count} usable examples but the bench needs {count}; lower --steps or give more data.");
        var order = Enumerable.Range(0, encoded.Examples.Count).ToArray();
        new Random(seed).Shuffle(order);
        var sample = order.Take(count).Select(i => encoded.Examples[i]).ToList();
        return new InstructionBenchData(sample, encoded.Total, encoded.Examples.Count, encoded.Truncated, tokenizer.PadId ?? 0);
    }
}
