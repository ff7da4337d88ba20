using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Confer.Models;
using Confer.Serving;
using Confer.Tokenizers;
using Confer.Training.Generation;

namespace Confer.Tests.Serving;

/// <summary><c>confer serve</c> answering a real HTTP client: OpenAI's response shapes, streaming, the key, refusals.</summary>
public sealed class ServeTests(ServeFixture serve) : IClassFixture<ServeFixture>, IDisposable
{
    private const string Prompt = "Question: Tom has 3 apples and buys 4 more. How many apples does he have?\nAnswer:";

    private readonly CausalLanguageModel _model = ModelFactory.LoadCausalLM(ServeFixture.ModelFolder);
    private readonly TextTokenizer _tokenizer = TextTokenizer.FromPretrained(ServeFixture.ModelFolder);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _model.Dispose();

    /// <summary>The oracle: the pre-existing prompt-to-text path (<c>confer generate</c>) on a separately loaded copy of the model.</summary>
    private string Generate(string prompt, GenerationOptions options) => new TextGenerator(_model, _tokenizer).Generate([prompt], options)[0];

    [Fact]
    public async Task CompletionAnswersInOpenAiShapeWithTheTextConferGenerateGives()
    {
        var (status, body) = await serve.PostAsync("/completions",
            """{"model": "confer-base", "prompt": "PROMPT", "max_tokens": 20, "temperature": 0.8, "top_p": 0.9, "seed": 77, "stop": "\n\n"}""".Replace("PROMPT", Escape(Prompt)));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("text_completion", (string)body["object"]!);
        Assert.Equal("confer-base", (string)body["model"]!);
        Assert.StartsWith("cmpl-", (string)body["id"]!);
        var choice = body["choices"]!.AsArray().Single()!;
        var expected = Generate(Prompt, new GenerationOptions { MaxNewTokens = 20, Temperature = 0.8, TopP = 0.9, Seed = 77, StopStrings = ["\n\n"] });
        Assert.Equal(expected, (string)choice["text"]!);
        Assert.Equal(0, (int)choice["index"]!);
        Assert.Contains((string)choice["finish_reason"]!, new[] { "stop", "length" });
        var usage = body["usage"]!;
        Assert.Equal(_tokenizer.Encode(Prompt, addBos: true).Count, (int)usage["prompt_tokens"]!);
        Assert.InRange((int)usage["completion_tokens"]!, _tokenizer.Encode(expected).Count > 0 ? 1 : 0, 20);
        Assert.Equal((int)usage["prompt_tokens"]! + (int)usage["completion_tokens"]!, (int)usage["total_tokens"]!);
    }

    [Fact]
    public async Task StreamedCompletionAddsUpToTheWholeAnswer()
    {
        const string request = """{"model": "confer-base", "prompt": ["Once upon a time", "The doctor said"], "n": 2, "max_tokens": 16, "temperature": 1.0, "seed": 5STREAM}""";
        var (_, whole) = await serve.PostAsync("/completions", request.Replace("STREAM", ""));
        var (type, events) = await serve.StreamAsync("/completions", request.Replace("STREAM", """, "stream": true, "stream_options": {"include_usage": true}"""));
        Assert.Equal("text/event-stream", type);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        Assert.All(chunks, c => Assert.Equal("text_completion", (string)c["object"]!));
        Assert.Single(chunks.Select(c => (string)c["id"]!).Distinct());
        var usage = chunks[^1];
        Assert.Empty(usage["choices"]!.AsArray());
        Assert.Equal(whole["usage"]!.ToJsonString(), usage["usage"]!.ToJsonString());
        var choices = whole["choices"]!.AsArray();
        Assert.Equal(4, choices.Count);
        for (var i = 0; i < 4; i++)
        {
            var mine = chunks[..^1].Select(c => c["choices"]![0]!).Where(c => (int)c["index"]! == i).ToList();
            Assert.Equal((string)choices[i]!["text"]!, string.Concat(mine.Select(c => (string)c["text"]!)));
            Assert.Equal((string)choices[i]!["finish_reason"]!, (string)mine[^1]["finish_reason"]!);
            Assert.All(mine[..^1], c => Assert.Null(c["finish_reason"]));
        }
        // Choices 0–1 continue prompt 0 and 2–3 prompt 1, each with its own seed.
        Assert.Equal(Generate("The doctor said", new GenerationOptions { MaxNewTokens = 16, Temperature = 1.0, Seed = 5 }), (string)choices[2]!["text"]!);
        Assert.NotEqual((string)choices[2]!["text"]!, (string)choices[3]!["text"]!);
    }

    [Fact]
    public async Task ChatRendersThePlainFormatAndStreamsDeltas()
    {
        const string request = """{"model": "confer-base", "messages": [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": [{"type": "text", "text": "What is 2 + 2?"}]}], "max_tokens": 24, "temperature": 0.7, "seed": 3STREAM}""";
        var (status, whole) = await serve.PostAsync("/chat/completions", request.Replace("STREAM", ""));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("chat.completion", (string)whole["object"]!);
        var message = whole["choices"]![0]!["message"]!;
        Assert.Equal("assistant", (string)message["role"]!);
        // Written out by hand: the documented fallback format, and its implied stop at the user's next turn.
        var expected = Generate("System: Answer briefly.\nUser: What is 2 + 2?\nAssistant:",
            new GenerationOptions { MaxNewTokens = 24, Temperature = 0.7, Seed = 3, StopStrings = ["\nUser:"] });
        Assert.Equal(expected, (string)message["content"]!);

        var (_, events) = await serve.StreamAsync("/chat/completions", request.Replace("STREAM", """, "stream": true"""));
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", (string)c["object"]!));
        Assert.All(chunks, c => Assert.Null(c["usage"]));
        Assert.Equal("assistant", (string)chunks[0]["choices"]![0]!["delta"]!["role"]!);
        var deltas = chunks.Select(c => c["choices"]![0]!).ToList();
        Assert.Equal(expected, string.Concat(deltas.Select(d => (string?)d["delta"]!["content"] ?? "")));
        Assert.Equal((string)whole["choices"]![0]!["finish_reason"]!, (string)deltas[^1]["finish_reason"]!);
    }

    [Fact]
    public async Task ModelsAndHealthAndTheKey()
    {
        using var http = ServeFixture.Client();
        var models = JsonNode.Parse(await http.GetStringAsync(serve.BaseUrl + "/models", Ct))!;
        Assert.Equal("list", (string)models["object"]!);
        Assert.Equal("confer-base", (string)models["data"]![0]!["id"]!);
        Assert.Equal("confer-base", (string)JsonNode.Parse(await http.GetStringAsync(serve.BaseUrl + "/models/confer-base", Ct))!["id"]!);

        foreach (var key in new[] { null, "wrong-key", ServeFixture.Key + "x" })
        {
            var (status, body) = await serve.PostAsync("/completions", """{"model": "confer-base", "prompt": "Hi", "max_tokens": 2}""", key);
            Assert.Equal(HttpStatusCode.Unauthorized, status);
            Assert.Equal("invalid_api_key", (string)body["error"]!["code"]!);
        }
        using var anonymous = ServeFixture.Client(key: null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(serve.BaseUrl + "/models", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(new Uri(serve.BaseUrl, "/health"), Ct)).StatusCode);
        var unknown = await http.GetAsync(serve.BaseUrl + "/embeddings", Ct);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("unknown_url", (string)JsonNode.Parse(await unknown.Content.ReadAsStringAsync(Ct))!["error"]!["code"]!);
    }

    [Theory]
    [InlineData("/completions", """{"model": "confer-base", "prompt": "Hi", "presence_penalty": 0.5}""", "presence_penalty", "not supported")]
    [InlineData("/completions", """{"model": "confer-base", "prompt": "Hi", "repetition_penalty": 1.2}""", "repetition_penalty", "Unrecognized request argument supplied: repetition_penalty")]
    [InlineData("/completions", """{"model": "confer-base", "prompt": "Hi", "logprobs": 2}""", "logprobs", "not supported")]
    [InlineData("/completions", """{"model": "confer-base", "prompt": "Hi", "n": 17}""", "n", "between 1 and 16")]
    [InlineData("/completions", """{"model": "confer-base", "prompt": ["a", "b", "c"], "n": 6}""", "n", "exceeds this server's limit of 16")]
    [InlineData("/completions", """{"model": "confer-base", "prompt": ["a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a"]}""", "prompt", "17 prompts exceed")]
    [InlineData("/completions", """{"model": "confer-base", "prompt": "Hi", "max_tokens": 5000}""", "max_tokens", "between 1 and 1024")]
    [InlineData("/completions", """{"model": "confer-base", "prompt": "Hi", "max_tokens": 0}""", "max_tokens", "between 1 and 1024")]
    [InlineData("/completions", """{"model": "confer-base", "prompt": "Hi", "temperature": 2.5}""", "temperature", "out of range")]
    [InlineData("/completions", """{"model": "confer-base", "prompt": "Hi", "top_p": 0}""", "top_p", "greater than 0")]
    [InlineData("/completions", """{"model": "confer-base", "prompt": "Hi", "temperature": "hot"}""", "temperature", "must be a number")]
    [InlineData("/completions", """{"model": "confer-base", "prompt": "Hi", "seed": 1.5}""", "seed", "must be an integer")]
    [InlineData("/completions", """{"model": "confer-base", "prompt": "Hi", "stop": ["a", "b", "c", "d", "e"]}""", "stop", "at most 4")]
    [InlineData("/completions", """{"model": "confer-base", "prompt": "Hi", "stop": [""]}""", "stop", "must not be empty")]
    [InlineData("/completions", """{"model": "confer-base", "prompt": [1, 2, 3]}""", "prompt", "token-id prompts are not supported")]
    [InlineData("/completions", """{"model": "confer-base"}""", "prompt", "prompt is required")]
    [InlineData("/completions", """{"prompt": "Hi"}""", "model", "model is required")]
    [InlineData("/completions", """{"model": "confer-base", "prompt": "Hi", "stream_options": {"include_usage": true}}""", "stream_options", "only allowed when 'stream' is enabled")]
    [InlineData("/completions", """{"model": "confer-base", "prompt": "Hi", "n": 1, "n": 2}""", "n", "names 'n' twice")]
    [InlineData("/chat/completions", """{"model": "confer-base", "messages": []}""", "messages", "non-empty list")]
    [InlineData("/chat/completions", """{"model": "confer-base", "messages": [{"role": "tool", "content": "x"}]}""", "messages", "role 'tool' is not supported")]
    [InlineData("/chat/completions", """{"model": "confer-base", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}""", "messages", "only text parts")]
    [InlineData("/chat/completions", """{"model": "confer-base", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]}""", "tools", "not supported")]
    [InlineData("/chat/completions", """{"model": "confer-base", "messages": [{"role": "user", "content": "x"}], "max_tokens": 5, "max_completion_tokens": 6}""", "max_completion_tokens", "disagree")]
    public async Task BadRequestsAreRefusedWith400AndOpenAiErrorJson(string route, string json, string param, string message)
    {
        var (status, body) = await serve.PostAsync(route, json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = body["error"]!;
        Assert.Equal("invalid_request_error", (string)error["type"]!);
        Assert.Equal(param, (string?)error["param"]);
        Assert.Contains(message, (string)error["message"]!);
    }

    [Fact]
    public async Task BodiesThatAreNotRequestsAndUnknownModelsAndTooLongPrompts()
    {
        foreach (var json in new[] { "{\"model\": ", "[1, 2]", "" })
        {
            var (status, body) = await serve.PostAsync("/completions", json);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal("invalid_request_error", (string)body["error"]!["type"]!);
        }
        var (notFound, missing) = await serve.PostAsync("/completions", """{"model": "gpt-4", "prompt": "Hi"}""");
        Assert.Equal(HttpStatusCode.NotFound, notFound);
        Assert.Equal("model_not_found", (string)missing["error"]!["code"]!);

        // confer-base attends over 1024 positions: a 1000-token prompt leaves no room for 100 more.
        var longPrompt = string.Concat(Enumerable.Repeat("7 ", 1000));
        var promptTokens = _tokenizer.Encode(longPrompt, addBos: true).Count;
        var (tooLong, error) = await serve.PostAsync("/completions", $$"""{"model": "confer-base", "prompt": "{{longPrompt}}", "max_tokens": 100}""");
        Assert.Equal(HttpStatusCode.BadRequest, tooLong);
        Assert.Equal("context_length_exceeded", (string)error["error"]!["code"]!);
        Assert.Contains($"you requested {promptTokens + 100} tokens ({promptTokens} in the prompt, 100 in the completion)", (string)error["error"]!["message"]!);

        // A body over the limit is refused from its Content-Length, before it is read (raw HTTP: a client library
        // would fail to finish uploading once the server has answered and closed).
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(serve.BaseUrl.Host, serve.BaseUrl.Port, Ct);
        var stream = tcp.GetStream();
        var head = $"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ServeFixture.Key}\r\nContent-Type: application/json\r\n" +
                   $"Content-Length: {OpenAiServer.MaxBodyBytes + 1}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), Ct);
        using var reader = new StreamReader(stream);
        Assert.Equal("HTTP/1.1 413 Payload Too Large", await reader.ReadLineAsync(Ct));
        Assert.Contains("larger than this server's limit of 4 MiB", await reader.ReadToEndAsync(Ct));
    }

    [Fact]
    public async Task ABusyModelAnswers429AndAClientThatLeavesFreesIt()
    {
        var (model, server) = await ServeFixture.StartAsync(new ServeSettings { Model = ServeFixture.ModelFolder, Port = 0, MaxQueue = 0, LogRequests = false });
        try
        {
            var url = new Uri(server.Url, "v1/completions");
            using var http = ServeFixture.Client(key: null);
            // A long stream holds the model (16 choices of up to 1000 tokens: minutes of decoding on a CPU); once its
            // first piece has arrived it is surely generating.
            var longRequest = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = new StringContent("""{"model": "confer-base", "prompt": "Once upon a time", "n": 16, "max_tokens": 1000, "temperature": 1, "seed": 1, "stream": true}""", Encoding.UTF8, "application/json"),
            };
            var stream = await http.SendAsync(longRequest, HttpCompletionOption.ResponseHeadersRead, Ct);
            var reader = new StreamReader(await stream.Content.ReadAsStreamAsync(Ct));
            Assert.StartsWith("data: ", await reader.ReadLineAsync(Ct));

            var busy = await http.PostAsync(url, new StringContent("""{"model": "confer-base", "prompt": "Hi", "max_tokens": 2}""", Encoding.UTF8, "application/json"), Ct);
            Assert.Equal((HttpStatusCode)429, busy.StatusCode);
            Assert.Equal("server_busy", (string)JsonNode.Parse(await busy.Content.ReadAsStringAsync(Ct))!["error"]!["code"]!);

            // The client leaves mid-stream: generation stops at the next token and the next request gets the model,
            // long before the abandoned request could have finished.
            reader.Dispose();
            stream.Dispose();
            longRequest.Dispose();
            var until = DateTime.UtcNow.AddSeconds(15);
            HttpResponseMessage next;
            while ((next = await http.PostAsync(url, new StringContent("""{"model": "confer-base", "prompt": "Hi", "max_tokens": 2}""", Encoding.UTF8, "application/json"), Ct)).StatusCode == (HttpStatusCode)429)
            {
                Assert.True(DateTime.UtcNow < until, "the abandoned stream never released the model");
                await Task.Delay(100, Ct);
            }
            Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        }
        finally
        {
            await server.DisposeAsync();
            model.Dispose();
        }
    }

    private static string Escape(string s) => JsonValue.Create(s).ToJsonString()[1..^1];
}
