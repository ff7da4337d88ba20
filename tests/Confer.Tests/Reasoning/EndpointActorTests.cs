using System.Net;
using System.Net.Sockets;
using Confer.Reasoning.Actors;
using Confer.Tests.Serving;
using Confer.Training.Generation;

namespace Confer.Tests.Reasoning;

/// <summary>The two actors: a Confer model in-process and an OpenAI-compatible endpoint, through <c>confer serve</c> and through a misbehaving fake server.</summary>
public sealed class EndpointActorTests(ServeFixture serve) : IClassFixture<ServeFixture>
{
    private const string Prompt = "Question: A farmer has 12 cows and sells 5. How many cows are left?\nAnswer: Let's think step by step.";

    private static readonly ActorSampling Sampling = new(N: 4, Temperature: 0.9, TopP: 0.95, MaxTokens: 24, Stop: ["\n\n"], Seed: 11);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private OpenAiEndpointOptions ServeOptions(OpenAiApi api = OpenAiApi.Completions) =>
        new() { BaseUrl = serve.BaseUrl, Model = ServeFixture.ModelName, ApiKey = ServeFixture.Key, Api = api };

    [Fact]
    public async Task TheEndpointActorThroughConferServeSamplesWhatTheInProcessActorSamples()
    {
        using var local = ConferModelActor.Load(ServeFixture.ModelFolder);
        using var remote = new OpenAiEndpointActor(ServeOptions());
        using var split = new OpenAiEndpointActor(ServeOptions() with { OneChoicePerRequest = true });
        var expected = await local.SampleAsync(Prompt, Sampling, Ct);
        Assert.Equal(4, expected.Count);
        Assert.True(expected.Distinct().Count() > 1, "sampling at temperature 0.9 gives different paths");
        Assert.Equal(expected, await remote.SampleAsync(Prompt, Sampling, Ct));
        // One request per sample, sample i seeded ChoiceSeed(seed, i): the same four texts.
        Assert.Equal(expected, await split.SampleAsync(Prompt, Sampling, Ct));
        // Same seed, same samples; another seed, other samples.
        Assert.Equal(expected, await local.SampleAsync(Prompt, Sampling, Ct));
        Assert.NotEqual(expected, await local.SampleAsync(Prompt, Sampling with { Seed = 12 }, Ct));
        Assert.StartsWith("confer:", local.Name);
        Assert.Contains("/v1/completions", remote.Name);
    }

    [Fact]
    public async Task TheChatRouteSendsThePromptAsAUserMessage()
    {
        using var chat = new OpenAiEndpointActor(ServeOptions(OpenAiApi.Chat));
        var texts = await chat.SampleAsync("What is 5 + 7?", Sampling with { N = 2 }, Ct);
        using var local = ConferModelActor.Load(ServeFixture.ModelFolder);
        // confer-base has no chat template: the server writes the documented plain format and stops at the next user turn.
        var expected = await local.SampleAsync("User: What is 5 + 7?\nAssistant:", Sampling with { N = 2, Stop = ["\n\n", "\nUser:"] }, Ct);
        Assert.Equal(expected, texts);
    }

    [Fact]
    public async Task TheRequestCarriesEverySamplingFieldAndTheKey()
    {
        await using var fake = await FakeOpenAiEndpoint.StartAsync((http, _) => FakeOpenAiEndpoint.Completions(http, 3));
        using var actor = new OpenAiEndpointActor(new OpenAiEndpointOptions { BaseUrl = fake.BaseUrl, Model = "m1", ApiKey = "sk-1" });
        var texts = await actor.SampleAsync("Q?", new ActorSampling(3, 0.7, 0.9, 50, ["\n", "###"], 42), Ct);
        Assert.Equal(["answer 0", "answer 1", "answer 2"], texts);
        var (_, path, body, authorization) = Assert.Single(fake.Requests);
        Assert.Equal("/v1/completions", path);
        Assert.Equal("Bearer sk-1", authorization);
        Assert.Equal("""{"model":"m1","prompt":"Q?","n":3,"temperature":0.7,"top_p":0.9,"max_tokens":50,"seed":42,"stop":["\n","###"]}""", body.ToJsonString());
    }

    [Fact]
    public async Task ServerErrorsAreRetriedWithGrowingBackoff()
    {
        await using var fake = await FakeOpenAiEndpoint.StartAsync((http, attempt) => attempt <= 2
            ? FakeOpenAiEndpoint.Json(http, 503, """{"error": {"message": "warming up"}}""")
            : FakeOpenAiEndpoint.Completions(http, 2));
        using var actor = new OpenAiEndpointActor(new OpenAiEndpointOptions
        {
            BaseUrl = fake.BaseUrl, Model = "m", InitialBackoff = TimeSpan.FromMilliseconds(200), MaxBackoff = TimeSpan.FromSeconds(5),
        });
        Assert.Equal(["answer 0", "answer 1"], await actor.SampleAsync("Q?", Sampling with { N = 2 }, Ct));
        var at = fake.Requests.Select(r => r.At).ToList();
        Assert.Equal(3, at.Count);
        // Jittered exponential back-off: at least half of 200 ms, then at least half of 400 ms.
        Assert.True(at[1] - at[0] >= TimeSpan.FromMilliseconds(100), $"first wait {(at[1] - at[0]).TotalMilliseconds} ms");
        Assert.True(at[2] - at[1] >= TimeSpan.FromMilliseconds(200), $"second wait {(at[2] - at[1]).TotalMilliseconds} ms");
    }

    [Fact]
    public async Task A429WaitsAtLeastTheServersRetryAfter()
    {
        await using var fake = await FakeOpenAiEndpoint.StartAsync((http, attempt) =>
        {
            if (attempt > 1) return FakeOpenAiEndpoint.Completions(http, 1);
            http.Response.Headers.RetryAfter = "1";
            return FakeOpenAiEndpoint.Json(http, 429, """{"error": {"message": "slow down"}}""");
        });
        using var actor = new OpenAiEndpointActor(new OpenAiEndpointOptions { BaseUrl = fake.BaseUrl, Model = "m", InitialBackoff = TimeSpan.FromMilliseconds(10) });
        Assert.Equal(["answer 0"], await actor.SampleAsync("Q?", Sampling with { N = 1 }, Ct));
        var at = fake.Requests.Select(r => r.At).ToList();
        Assert.True(at[1] - at[0] >= TimeSpan.FromSeconds(0.95), $"waited {(at[1] - at[0]).TotalMilliseconds} ms");
    }

    [Fact]
    public async Task PersistentFailuresGiveUpWithOneLineNamingTheUrl()
    {
        await using var fake = await FakeOpenAiEndpoint.StartAsync((http, _) => FakeOpenAiEndpoint.Json(http, 500, """{"error": {"message": "CUDA out of memory"}}"""));
        using var actor = new OpenAiEndpointActor(new OpenAiEndpointOptions { BaseUrl = fake.BaseUrl, Model = "m", MaxAttempts = 3, InitialBackoff = TimeSpan.FromMilliseconds(10) });
        var e = await Assert.ThrowsAsync<ActorEndpointException>(() => actor.SampleAsync("Q?", Sampling, Ct));
        Assert.Equal($"OpenAI endpoint {fake.BaseUrl}/completions: answered 500 Internal Server Error: CUDA out of memory; gave up after 3 attempts.", e.Message);
        Assert.Equal(3, fake.Requests.Count);
    }

    [Fact]
    public async Task ARefusalIsNotRetried()
    {
        await using var fake = await FakeOpenAiEndpoint.StartAsync((http, _) =>
            FakeOpenAiEndpoint.Json(http, 400, """{"error": {"message": "Unrecognized request argument supplied: seed", "type": "invalid_request_error"}}"""));
        using var actor = new OpenAiEndpointActor(new OpenAiEndpointOptions { BaseUrl = fake.BaseUrl, Model = "m", InitialBackoff = TimeSpan.FromMilliseconds(10) });
        var e = await Assert.ThrowsAsync<ActorEndpointException>(() => actor.SampleAsync("Q?", Sampling, Ct));
        Assert.Contains("answered 400 Bad Request: Unrecognized request argument supplied: seed", e.Message);
        Assert.Single(fake.Requests);
    }

    [Theory]
    [InlineData("<html><body>502 Bad Gateway</body></html>", "answered malformed JSON")]
    [InlineData("""{"choices": [{"index": 0, "text": "a"}""", "answered malformed JSON")]
    [InlineData("""{"object": "text_completion"}""", "answered JSON without a 'choices' list")]
    [InlineData("""{"choices": [{"index": 0, "text": "only one"}]}""", "answered 1 choices for n = 4; if the server ignores n")]
    [InlineData("""{"choices": [{"index": 0, "text": "a"}, {"index": 0, "text": "b"}, {"index": 2, "text": "c"}, {"index": 3, "text": "d"}]}""", "choice index 0 twice")]
    [InlineData("""{"choices": [{"index": 0, "text": 1}, {"index": 1, "text": "b"}, {"index": 2, "text": "c"}, {"index": 3, "text": "d"}]}""", "a choice without text")]
    [InlineData("""{"choices": [{"index": 9, "text": "a"}, {"index": 1, "text": "b"}, {"index": 2, "text": "c"}, {"index": 3, "text": "d"}]}""", "index 9, not one of 0..3")]
    public async Task AnswersThatAreNotOpenAiJsonAreRefusedAtOnce(string answer, string expected)
    {
        await using var fake = await FakeOpenAiEndpoint.StartAsync((http, _) => FakeOpenAiEndpoint.Json(http, 200, answer));
        using var actor = new OpenAiEndpointActor(new OpenAiEndpointOptions { BaseUrl = fake.BaseUrl, Model = "m" });
        var e = await Assert.ThrowsAsync<ActorEndpointException>(() => actor.SampleAsync("Q?", Sampling, Ct));
        Assert.StartsWith($"OpenAI endpoint {fake.BaseUrl}/completions: ", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Single(fake.Requests);
    }

    [Fact]
    public async Task ASilentServerTimesOutOnEveryAttempt()
    {
        await using var fake = await FakeOpenAiEndpoint.StartAsync(async (http, _) => await Task.Delay(TimeSpan.FromSeconds(30), http.RequestAborted));
        using var actor = new OpenAiEndpointActor(new OpenAiEndpointOptions
        {
            BaseUrl = fake.BaseUrl, Model = "m", Timeout = TimeSpan.FromMilliseconds(300), MaxAttempts = 2, InitialBackoff = TimeSpan.FromMilliseconds(10),
        });
        var e = await Assert.ThrowsAsync<ActorEndpointException>(() => actor.SampleAsync("Q?", Sampling, Ct));
        Assert.Equal($"OpenAI endpoint {fake.BaseUrl}/completions: no answer within 0.3 s; gave up after 2 attempts.", e.Message);
        Assert.Equal(2, fake.Requests.Count);
    }

    [Fact]
    public async Task AnEndpointThatIsDownIsNamedWithTheReason()
    {
        var port = FreePort();
        using var actor = new OpenAiEndpointActor(new OpenAiEndpointOptions
        {
            BaseUrl = new Uri($"http://127.0.0.1:{port}/v1"), Model = "m", MaxAttempts = 2, InitialBackoff = TimeSpan.FromMilliseconds(10),
        });
        var e = await Assert.ThrowsAsync<ActorEndpointException>(() => actor.SampleAsync("Q?", Sampling, Ct));
        Assert.StartsWith($"OpenAI endpoint http://127.0.0.1:{port}/v1/completions: unreachable (Connection refused", e.Message);
        Assert.EndsWith("gave up after 2 attempts.", e.Message);
    }

    [Fact]
    public async Task NoMoreThanMaxConcurrencyRequestsAreInFlight()
    {
        await using var fake = await FakeOpenAiEndpoint.StartAsync(async (http, _) =>
        {
            await Task.Delay(200);
            await FakeOpenAiEndpoint.Completions(http, 1);
        });
        using var actor = new OpenAiEndpointActor(new OpenAiEndpointOptions { BaseUrl = fake.BaseUrl, Model = "m", MaxConcurrency = 2, OneChoicePerRequest = true });
        var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => actor.SampleAsync("Q?", Sampling with { N = 3 }, Ct)));
        Assert.All(results, r => Assert.Equal(["answer 0", "answer 0", "answer 0"], r));
        Assert.Equal(9, fake.Requests.Count);
        Assert.Equal(2, fake.MaxInFlight);
        // One choice per request: request i carries n = 1 and seed ChoiceSeed(11, i).
        Assert.All(fake.Requests, r => Assert.Equal(1, (int)r.Body["n"]!));
        Assert.Equal(Enumerable.Range(0, 3).Select(i => CompletionGenerator.ChoiceSeed(11, i)).Order(),
            fake.Requests.Select(r => (long)r.Body["seed"]!).Distinct().Order());
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
