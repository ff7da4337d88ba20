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
