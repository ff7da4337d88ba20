using Confer.Tokenizers;
using Confer.Training.Generation;

namespace Confer.Tests.Generation;

/// <summary>
/// A continuation keeps its boundary with the prompt for every tokenizer kind: the ids of "prompt + continuation" split
/// at the prompt's length must read back as exactly the continuation's text.
/// </summary>
public class ContinuationTextTests
{
    [Theory]
    // SentencePiece: the first generated piece is "▁rem…"; decoded alone it loses its space ("What is theremovement").
    [InlineData("llama2", "What is the", " removement of")]
    // Byte-level BPE (GPT-2 and Llama 3's tokenizer.json): spaces ride on "Ġ"; the text must come back unchanged.
    [InlineData("gpt2", "Hello", " world, again")]
    [InlineData("llama3", "The answer is", " 42 (probably)")]
    // WordPiece (uncased): "tokenization" is "token" + "##ization"; the "##" piece glues to what came before.
    [InlineData("bert-base-uncased", "the token", "ization works")]
    public void The_continuation_reads_as_it_does_after_the_prompt(string tokenizerName, string prompt, string continuation)
    {
        var tokenizer = TextTokenizer.FromPretrained(SharedDataPath.Of("tokenizers", tokenizerName));
        var promptIds = tokenizer.Encode(prompt);
        var allIds = tokenizer.Encode(prompt + continuation);
        Assert.Equal(promptIds, allIds.Take(promptIds.Count));
        var generated = allIds.Skip(promptIds.Count).ToList();
        Assert.Equal(continuation, new ContinuationText(tokenizer).Decode(promptIds, generated));
    }
}
