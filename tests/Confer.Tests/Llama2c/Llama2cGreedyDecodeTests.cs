using System.Text.Json;
using Confer.Models;
using Confer.Models.Llama;
using Confer.Models.Llama2c;
using Confer.Tokenizers;
using static TorchSharp.torch;
using Confer.Models.Checkpoints;

namespace Confer.Tests;

/// <summary>End to end: llama2.c checkpoint → HF folder → <see cref="LlamaForCausalLM"/> reproduces llama2.c's greedy decode.</summary>
public sealed class Llama2cGreedyDecodeTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("stories260K_fp32_dequantized.bin")]
    [InlineData("stories260K_q80.bin")]
    public void ConvertedModelReproducesTheReferenceGreedyDecode(string checkpoint)
    {
        string data = SharedDataPath.Of("models", "stories260K");
        Llama2cConverter.ConvertToHf(Path.Combine(data, checkpoint), Path.Combine(data, "tok512.bin"), _dir.Path);
        using var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(data, "greedy_reference.json")));
        long[] expected = [.. reference.RootElement.GetProperty("generated_ids").EnumerateArray().Select(e => e.GetInt64())];
        int bos = TextTokenizer.FromPretrained(_dir.Path).BosId!.Value;

        using var model = new LlamaForCausalLM(LlamaConfig.Load(_dir.File("config.json")));
        Checkpoint.LoadInto(model, _dir.Path);
        model.eval();

        // Greedy decoding reproduces the reference exactly iff, fed BOS + the reference prefix, the model's argmax
        // at every position is the reference's next token; one forward pass checks all 110 steps.
        using var _ = no_grad();
        var input = tensor([bos, .. expected[..^1]]).view(1, -1);
        var predicted = model.forward(new CausalLMInput(input)).Logits[0].argmax(-1);
        Assert.Equal(expected, predicted.data<long>().ToArray());

        // And the generator a user runs (`confer generate`), token by token with the KV cache, from the saved folder.
        using var loaded = LlamaForCausalLM.FromPretrained(_dir.Path);
        var generated = new Confer.Training.Generation.TokenGenerator(loaded)
            .Generate([[bos]], new Confer.Training.Generation.GenerationOptions { MaxNewTokens = expected.Length })[0];
        Assert.Equal(expected, generated.Select(t => (long)t).ToArray());
    }
}
