using Confer.Chat;
using Confer.Data;
using Confer.Models.Llama;
using Confer.Training.Generation;
using static TorchSharp.torch;

namespace Confer.Tests;

/// <summary>The chat format in instruction tuning (template "chat") and in generation, on the real Llama 3 tokenizer.</summary>
public sealed class ChatFormatTrainingAndGenerationTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ChatTemplateTrainingExamplesCarryTheTemplatesOwnSpecialTokensOnly()
    {
        var tok = TokenizerJsonTests.Llama3.Value;
        var encoder = new ExampleEncoder(tok, Prompter.Load("chat"), new ExampleEncoderOptions { MaxLength = 256 });
        var record = new InstructionRecord("What is federated learning?", "", "Training without sharing data.", null);
        var example = encoder.Encode(record);

        // The prompt is the reference rendering of this one-turn chat (reference_encodings.json, chat 0), with no BOS added.
        var reference = TokenizerJsonTests.Ids(TokenizerJsonTests.Reference("llama3").GetProperty("chats")[0].GetProperty("ids"));
        Assert.Equal(reference, encoder.EncodePrompt(record));
        Assert.Equal(reference, example.InputIds[..reference.Length]);
        Assert.Equal(128000, example.InputIds[0]);
        Assert.NotEqual(128000, example.InputIds[1]);
        // Targets: the reply and the end of turn, then what this early Llama 3 template always writes (it opens an
        // assistant turn whatever add_generation_prompt says); no EOS is appended to the template's own tokens.
        Assert.All(example.Labels[..reference.Length], l => Assert.Equal(TokenizedExample.IgnoreLabel, l));
        Assert.Equal("Training without sharing data.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            tok.Decode(example.Labels[reference.Length..], skipSpecialTokens: false));
        Assert.DoesNotContain(tok.EosId!.Value, example.InputIds);
    }

    [Fact]
    public void ChatTemplateIsRequiredWhenAskedFor()
    {
        var gpt2 = TextTokenizer(SharedDataPath.Of("tokenizers", "gpt2"));
        var e = Assert.Throws<InvalidDataException>(() => new ExampleEncoder(gpt2, Prompter.Load("chat")));
        Assert.Contains("chat template", e.Message);
    }

    [Fact]
    public void GenerateChatFeedsTheRenderedPromptAndStopsAtGenerationConfigIds()
    {
        var tok = TokenizerJsonTests.Llama3.Value;
        var config = TinyModels.LlamaConfig(vocab: tok.VocabSize, hidden: 16, layers: 1, heads: 2, kvHeads: 1);
        manual_seed(3);
        using var model = new LlamaForCausalLM(config);
        model.eval();
        var chat = TokenizerJsonTests.Reference("llama3").GetProperty("chats")[1];
        var messages = chat.GetProperty("messages").EnumerateArray()
            .Select(m => new ChatMessage(m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!)).ToList();
        var options = new GenerationOptions { MaxNewTokens = 6, EosTokenIds = [] };

        // Oracle: greedy tokens from the reference ids of this chat, fed to the token generator directly.
        var expected = new TokenGenerator(model).Generate([TokenizerJsonTests.Ids(chat.GetProperty("ids"))], options)[0];
        var generator = new TextGenerator(model, tok);
        Assert.Equal(tok.Decode(expected), generator.GenerateChat([messages], options)[0]);

        // generation_config.json's eos list: stopping at the first greedy token leaves nothing.
        File.WriteAllText(_dir.File("generation_config.json"), $$"""{"do_sample": true, "temperature": 0.6, "top_p": 0.9, "eos_token_id": [128001, {{expected[0]}}], "repetition_penalty": 1.1, "num_beams": 4}""");
        var fromFile = GenerationConfig.FromModelFolder(_dir.Path)!;
        Assert.Equal(["num_beams = 4"], fromFile.Unapplied);
        var sampled = fromFile.ApplyTo(new GenerationOptions(), null, null, null, null);
        Assert.Equal((0.6, 50, 0.9, 1.1), (sampled.Temperature, sampled.TopK, sampled.TopP, sampled.RepetitionPenalty)); // top_k: transformers' default 50
        var greedy = fromFile.ApplyTo(new GenerationOptions { MaxNewTokens = 6 }, temperature: 0, null, null, null, repetitionPenalty: 1.0);
        Assert.Equal("", generator.GenerateChat([messages], greedy)[0]);
        File.WriteAllText(_dir.File("generation_config.json"), """{"eos_token_id": 128001}""");
        Assert.Equal(0, GenerationConfig.FromModelFolder(_dir.Path)!.ApplyTo(new GenerationOptions(), null, null, null, null).Temperature);
    }

    private static Confer.Tokenizers.TextTokenizer TextTokenizer(string folder) => Confer.Tokenizers.TextTokenizer.FromPretrained(folder);
}
