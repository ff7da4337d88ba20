using System.Net;
using System.Text.Json.Nodes;
using Confer.Models;
using Confer.Models.Llama;
using Confer.Serving;
using Confer.Training.Generation;
using static TorchSharp.torch;

namespace Confer.Tests.Serving;

/// <summary><c>confer serve</c> over a model folder with its own chat template and generation_config.json (a tiny Llama on the real Llama 3 tokenizer).</summary>
public sealed class ServeChatTemplateTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task ChatIsRenderedWithTheModelsTemplateAndEndsAtGenerationConfigIds()
    {
        var tok = TokenizerJsonTests.Llama3.Value;
        manual_seed(3);
        using (var model = new LlamaForCausalLM(TinyModels.LlamaConfig(vocab: tok.VocabSize, hidden: 16, layers: 1, heads: 2, kvHeads: 1, tied: true)))
            model.SavePretrained(_dir.Path);
        // Copied into a temporary model folder only, as a user's HF folder holds them.
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" }) File.Copy(SharedDataPath.Of("tokenizers", "llama3", file), _dir.File(file));
        var chat = TokenizerJsonTests.Reference("llama3").GetProperty("chats")[1];
        var referenceIds = TokenizerJsonTests.Ids(chat.GetProperty("ids"));
        int[] expected;
        using (var model = ModelFactory.LoadCausalLM(_dir.Path))
            expected = new TokenGenerator(model).Generate([referenceIds], new GenerationOptions { MaxNewTokens = 6 }, tok.EosId)[0];
        Assert.NotEmpty(expected);
        var request = $$"""{"model": "tiny", "messages": {{chat.GetProperty("messages").GetRawText()}}, "max_tokens": 6, "temperature": 0}""";

        // Oracle: greedy tokens from the reference ids of this conversation, fed to the token generator directly.
        var (status, body) = await PostAsync(request);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(new ContinuationText(tok).Decode(referenceIds, expected), (string)body["choices"]![0]!["message"]!["content"]!);
        Assert.Equal(referenceIds.Length, (int)body["usage"]!["prompt_tokens"]!);

        // generation_config.json's end ids replace the tokenizer's EOS: ending at the first greedy token leaves nothing.
        File.WriteAllText(_dir.File("generation_config.json"), $$"""{"eos_token_id": [128001, {{expected[0]}}]}""");
        (status, body) = await PostAsync(request);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(("", "stop", 0), ((string)body["choices"]![0]!["message"]!["content"]!, (string)body["choices"]![0]!["finish_reason"]!,
            (int)body["usage"]!["completion_tokens"]!));
    }

    private async Task<(HttpStatusCode Status, JsonObject Body)> PostAsync(string json)
    {
        var (model, server) = await ServeFixture.StartAsync(new ServeSettings { Model = _dir.Path, Name = "tiny", Port = 0, LogRequests = false });
        try
        {
            Assert.IsType<TemplateChatFormat>(model.Chat);
            using var http = ServeFixture.Client(key: null);
            using var response = await http.PostAsync(new Uri(server.Url, "v1/chat/completions"),
                new StringContent(json, System.Text.Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
            return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!.AsObject());
        }
        finally
        {
            await server.DisposeAsync();
            model.Dispose();
        }
    }
}
