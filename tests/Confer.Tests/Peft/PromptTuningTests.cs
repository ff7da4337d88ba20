using System.Text.Json;
using Confer.Models;
using Confer.Models.Llama;
using Confer.Peft;
using Confer.Peft.PromptTuning;
using Confer.Training.Generation;
using static TorchSharp.torch;
using Confer.Models.Safetensors;

namespace Confer.Tests.Peft;

public class PromptTuningTests
{
    /// <summary>The keys of PEFT's PromptTuningConfig as saved by save_pretrained (asdict of the dataclass and its bases:
    /// PeftConfigMixin task_type, peft_type, auto_mapping; PeftConfig base_model_name_or_path, revision, inference_mode;
    /// PromptLearningConfig num_virtual_tokens, token_dim, num_transformer_submodules, num_attention_heads, num_layers;
    /// PromptTuningConfig prompt_tuning_init, prompt_tuning_init_text, tokenizer_name_or_path, tokenizer_kwargs), sorted.</summary>
    private static readonly string[] PeftPromptTuningKeys =
    [
        "auto_mapping", "base_model_name_or_path", "inference_mode", "num_attention_heads", "num_layers", "num_transformer_submodules",
        "num_virtual_tokens", "peft_type", "prompt_tuning_init", "prompt_tuning_init_text", "revision", "task_type", "token_dim",
        "tokenizer_kwargs", "tokenizer_name_or_path",
    ];

    /// <summary>
    /// Oracle: a prompt whose rows are the embeddings of real tokens T must make the model compute exactly what it
    /// computes for the token sequence T followed by the input — positions, causal attention and all — so the logits of
    /// the input positions equal those of [T; x] without a prompt.
    /// </summary>
    [Fact]
    public void APromptOfTokenEmbeddingsActsLikeThoseTokensBeforeTheInput()
    {
        using var model = TinyModels.Llama(3);
        long[] promptTokens = [5, 17, 42];
        var ids = TinyModels.RandomIds(7, 2, 6);
        AttachPromptOf(model, promptTokens);
        using var _ = no_grad();
        var withPrompt = model.forward(new CausalLMInput(ids)).Logits;
        new PromptTuner(3, PromptInit.Random).Detach(model);
        var prefixed = cat([tensor(promptTokens).unsqueeze(0).expand(2, -1), ids], 1);
        var expected = model.forward(new CausalLMInput(prefixed)).Logits.narrow(1, 3, 6);
        Assert.Equal(expected.shape, withPrompt.shape);
        Assert.True(expected.allclose(withPrompt, rtol: 1e-5, atol: 1e-5), $"max diff {expected.sub(withPrompt).abs().max().item<float>()}");
    }

    /// <summary>
    /// Generation with left padding, an attention mask and a KV cache: the prompt gets L leading mask ones and a cache
    /// keeps it, so greedy decoding of a batch equals decoding each sequence with the prompt's tokens spelled out.
    /// </summary>
    [Fact]
    public void CachedGenerationOfAPaddedBatchMatchesTheSpelledOutPrefix()
    {
        using var model = TinyModels.Llama(4);
        long[] promptTokens = [9, 3];
        IReadOnlyList<int>[] prompts = [[11, 12, 13, 14, 15], [21, 22]];
        var options = new GenerationOptions { MaxNewTokens = 6, Temperature = 0 };
        AttachPromptOf(model, promptTokens);
        var tuned = new TokenGenerator(model).Generate(prompts, options);
        new PromptTuner(2, PromptInit.Random).Detach(model);
        var spelled = prompts.Select(p => new TokenGenerator(model).Generate([[9, 3, .. p]], options)[0]).ToList();
        Assert.Equal(spelled[0], tuned[0]);
        Assert.Equal(spelled[1], tuned[1]);
    }

    [Fact]
    public void APromptTuningAdapterHasPeftsFileLayoutAndKeysAndLoadsBack()
    {
        using var dir = new TempDir();
        using var model = TinyModels.Llama(5);
        var tuner = new PromptTuner(4, PromptInit.Vocab);
        using (var g = new Generator(8)) tuner.Attach(model, null, 1, 1, 0, g);
        using var prompt = tuner.Capture(model);
        tuner.Save(dir.Path, prompt, AdapterFolderInfo.Of(model, "models/tiny"));

        Assert.Equal(["adapter_config.json", "adapter_model.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using var json = JsonDocument.Parse(File.ReadAllText(dir.File("adapter_config.json")));
        var root = json.RootElement;
        Assert.Equal(PeftPromptTuningKeys, root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("PROMPT_TUNING", root.GetProperty("peft_type").GetString());
        Assert.Equal("CAUSAL_LM", root.GetProperty("task_type").GetString());
        Assert.Equal(4, root.GetProperty("num_virtual_tokens").GetInt32());
        Assert.Equal(32, root.GetProperty("token_dim").GetInt32());
        Assert.Equal(1, root.GetProperty("num_transformer_submodules").GetInt32());
        Assert.Equal(2, root.GetProperty("num_layers").GetInt32());
        Assert.Equal(4, root.GetProperty("num_attention_heads").GetInt32());
        Assert.True(root.GetProperty("inference_mode").GetBoolean());
        Assert.Equal("SAMPLE_VOCAB", root.GetProperty("prompt_tuning_init").GetString());
        Assert.Equal("models/tiny", root.GetProperty("base_model_name_or_path").GetString());
        foreach (var key in new[] { "auto_mapping", "prompt_tuning_init_text", "revision", "tokenizer_kwargs", "tokenizer_name_or_path" })
            Assert.Equal(JsonValueKind.Null, root.GetProperty(key).ValueKind);

        // PEFT's get_peft_model_state_dict saves one tensor, "prompt_embeddings" (num_virtual_tokens × token_dim).
        var header = SafetensorsFile.ReadHeader(dir.File("adapter_model.safetensors"));
        Assert.Equal("pt", header.Metadata["format"]);
        using var saved = SafetensorsFile.Load(dir.File("adapter_model.safetensors"));
        Assert.Equal(["prompt_embeddings"], saved.Names);
        Assert.Equal([4L, 32L], saved["prompt_embeddings"].shape);
        Assert.Equal(ScalarType.Float32, saved["prompt_embeddings"].dtype);
        // SAMPLE_VOCAB: every row is a row of the token embedding table.
        using (no_grad())
        {
            var table = model.InputEmbeddings.weight!;
            for (var i = 0; i < 4; i++)
                Assert.True(table.sub(saved["prompt_embeddings"][i]).abs().sum(1).min().item<float>() == 0, $"row {i} is a vocabulary row");
        }

        using var reloaded = TinyModels.Llama(5);
        Assert.Equal(PeftMethod.Prompt, PeftAdapter.LoadAny(dir.Path, reloaded));
        var ids = TinyModels.RandomIds(2, 2, 5);
        using var _ = no_grad();
        Assert.True(model.forward(new CausalLMInput(ids)).Logits.equal(reloaded.forward(new CausalLMInput(ids)).Logits).all().item<bool>());
    }

    [Fact]
    public void APromptForAnotherModelOrAnotherPromptTypeIsRefusedByName()
    {
        using var dir = new TempDir();
        using var model = TinyModels.Llama(5);
        var tuner = new PromptTuner(2, PromptInit.Random);
        using (var g = new Generator(1)) tuner.Attach(model, null, 1, 1, 0, g);
        using (var prompt = tuner.Capture(model)) tuner.Save(dir.Path, prompt, AdapterFolderInfo.Of(model, null));
        var configPath = dir.File("adapter_config.json");
        var original = File.ReadAllText(configPath);

        using var other = new LlamaForCausalLM(TinyModels.LlamaConfig(hidden: 48, heads: 4, kvHeads: 2));
        var e = Assert.Throws<InvalidDataException>(() => PeftAdapter.LoadAny(dir.Path, other));
        Assert.Contains("token_dim 32", e.Message);
        Assert.DoesNotContain(other.named_parameters(), p => p.name.Contains("prompt_encoder", StringComparison.Ordinal));

        File.WriteAllText(configPath, original.Replace("\"num_transformer_submodules\": 1", "\"num_transformer_submodules\": 2"));
        Assert.Contains("num_transformer_submodules", Assert.Throws<InvalidDataException>(() => PeftAdapter.LoadAny(dir.Path, model)).Message);
        File.WriteAllText(configPath, original.Replace("PROMPT_TUNING", "P_TUNING"));
        Assert.Contains("'P_TUNING' is not supported", Assert.Throws<InvalidDataException>(() => PeftAdapter.LoadAny(dir.Path, model)).Message);
    }

    [Fact]
    public void OnlyThePromptTrainsAndABaseCheckpointNeverHoldsIt()
    {
        using var dir = new TempDir();
        using var model = TinyModels.Llama(6);
        using (var g = new Generator(1)) new PromptTuner(3, PromptInit.Vocab).Attach(model, null, 1, 1, 0, g);
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.Equal(["model.prompt_encoder.embedding.weight"], trainable);
        model.SavePretrained(dir.Path);
        using var saved = SafetensorsFile.Load(Path.Combine(dir.Path, "model.safetensors"));
        Assert.DoesNotContain(saved.Names, n => n.Contains("prompt", StringComparison.Ordinal));
    }

    /// <summary>Attaches a prompt whose rows are the embeddings of <paramref name="tokens"/>.</summary>
    private static void AttachPromptOf(LlamaForCausalLM model, long[] tokens)
    {
        using var rows = new NamedTensors();
        using (no_grad()) rows.Add(PeftKeys.PromptEmbeddings, model.InputEmbeddings.weight!.index_select(0, tensor(tokens)).clone());
        using var g = new Generator(0);
        new PromptTuner(tokens.Length, PromptInit.Random).Attach(model, rows, 1, 1, 0, g);
    }
}
