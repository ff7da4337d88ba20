using Confer.Reasoning.Actors;
using Confer.Reasoning.Candidates;
using Confer.Reasoning.Suites;

namespace Confer.Tests.Reasoning;

/// <summary>The candidate cache: a second run reads instead of generating; a truncated or altered file is detected and rebuilt, never trusted.</summary>
public sealed class CandidateCacheTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "confer-cache-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task A_truncated_or_altered_cache_file_is_detected_and_regenerated()
    {
        var suite = ArithmeticSuite.Create(0, 4);
        var questions = suite.Datasets[1].Test;
        var actor = new CountingActor();
        var log = new List<string>();
        var sampling = new CandidateSampling(K: 3, MaxTokens: 32);
        var generator = new CandidateGenerator(actor, "counting", sampling, suite.Prompt, new CandidateCache(_folder)) { Log = log.Add };

        var first = await generator.GetAsync("boxes", "test", questions, greedy: true, null, TestContext.Current.CancellationToken);
        Assert.Equal(8, actor.Calls); // 4 questions × (K samples + greedy)
        var again = await generator.GetAsync("boxes", "test", questions, greedy: true, null, TestContext.Current.CancellationToken);
        Assert.Equal(8, actor.Calls);
        Assert.Equal(first.SelectMany(q => q.Samples.Select(c => c.Text)), again.SelectMany(q => q.Samples.Select(c => c.Text)));

        var path = Assert.Single(Directory.GetFiles(_folder));
        var bytes = await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken);
        await File.WriteAllBytesAsync(path, bytes[..(bytes.Length * 2 / 3)], TestContext.Current.CancellationToken);
        await generator.GetAsync("boxes", "test", questions, greedy: true, null, TestContext.Current.CancellationToken);
        Assert.Equal(16, actor.Calls);
        Assert.Contains(log, m => m.Contains("regenerating", StringComparison.Ordinal));

        // One changed character inside a completion (same length): the checksum catches it.
        var text = await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken);
        var at = text.IndexOf("sample", StringComparison.Ordinal);
        await File.WriteAllTextAsync(path, text[..at] + "Sample" + text[(at + 6)..], TestContext.Current.CancellationToken);
        var rebuilt = await generator.GetAsync("boxes", "test", questions, greedy: true, null, TestContext.Current.CancellationToken);
        Assert.Equal(24, actor.Calls);
        Assert.Equal(first.SelectMany(q => q.Samples.Select(c => c.Text)), rebuilt.SelectMany(q => q.Samples.Select(c => c.Text)));
    }

    [Fact]
    public async Task A_question_the_actor_refuses_is_named_in_the_error()
    {
        var suite = ArithmeticSuite.Create(0, 4);
        var questions = suite.Datasets[1].Test;
        var refusing = new RefusingActor(questions[2].Question);
        var generator = new CandidateGenerator(refusing, "refusing", new CandidateSampling(K: 2, MaxTokens: 8), suite.Prompt, new CandidateCache(_folder));
        var e = await Assert.ThrowsAsync<ActorEndpointException>(() =>
            generator.GetAsync("boxes", "test", questions, greedy: false, null, TestContext.Current.CancellationToken));
        Assert.StartsWith("boxes test, question 3 of 4 (", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("characters of prompt): OpenAI endpoint http://x/v1/completions: answered 400 Bad Request: context too long.", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.Exists(_folder) ? Directory.GetFiles(_folder) : []); // a split that failed is not cached
    }

    /// <summary>Stands in for an endpoint that refuses the prompt holding <paramref name="question"/> (as a server refuses a prompt beyond its context).</summary>
    private sealed class RefusingActor(string question) : IReasoningActor
    {
        public string Name => "refusing";

        public Task<IReadOnlyList<string>> SampleAsync(string prompt, ActorSampling sampling, CancellationToken ct) =>
            prompt.Contains(question, StringComparison.Ordinal)
                ? throw new ActorEndpointException("OpenAI endpoint http://x/v1/completions: answered 400 Bad Request: context too long.")
                : Task.FromResult<IReadOnlyList<string>>([.. Enumerable.Range(0, sampling.N).Select(i => $" {i}. The answer is {i}.")]);
    }

    /// <summary>Stands in for the external LLM (an endpoint or a model): deterministic text from the request's seed, and a call count.</summary>
    private sealed class CountingActor : IReasoningActor
    {
        private int _calls;

        public int Calls => _calls;

        public string Name => "counting";

        public Task<IReadOnlyList<string>> SampleAsync(string prompt, ActorSampling sampling, CancellationToken ct)
        {
            Interlocked.Increment(ref _calls);
            return Task.FromResult<IReadOnlyList<string>>([.. Enumerable.Range(0, sampling.N).Select(i => $" sample {sampling.Seed % 1000} {i}. The answer is {i}.")]);
        }
    }
}
