using Confer.Data;
using Confer.Reasoning.Actors;
using Confer.Reasoning.Suites;

namespace Confer.Reasoning.Candidates;

/// <summary>
/// FedCoT's first stage, on a client: K sampled reasoning paths per question from the local actor (and, for test
/// questions, the greedy path the CoT baseline answers with), labelled against the gold answers. Completions come
/// from the <see cref="CandidateCache"/> when a trustworthy file is there; otherwise they are generated — questions in
/// parallel up to <see cref="Concurrency"/> — saved, then labelled.
/// </summary>
public sealed class CandidateGenerator(IReasoningActor actor, string actorKey, CandidateSampling sampling, ReasoningPrompt prompt, CandidateCache cache)
{
    /// <summary>Questions in flight at once (an endpoint serves several; a model in this process is best at 1).</summary>
    public int Concurrency { get; init; } = 1;

    /// <summary>Reports cache decisions (a hit, a rebuilt corrupt file).</summary>
    public Action<string>? Log { get; init; }

    /// <summary>
    /// The labelled candidates of <paramref name="questions"/> (split <paramref name="split"/> of <paramref name="dataset"/>).
    /// <paramref name="progress"/> receives the number of questions done after each one.
    /// </summary>
    public async Task<IReadOnlyList<QuestionCandidates>> GetAsync(string dataset, string split, IReadOnlyList<QaRecord> questions, bool greedy,
        IProgress<int>? progress, CancellationToken ct)
    {
        sampling.Validate();
        var key = new CandidateCache.Key(actorKey, dataset, split, sampling, prompt.Name, greedy);
        var (cached, problem) = cache.TryLoad(key, questions);
        if (problem is not null) Log?.Invoke($"candidate cache {problem}; regenerating it");
        if (cached is not null)
        {
            Log?.Invoke($"{dataset} {split}: {questions.Count} questions × {sampling.K} candidates from {cache.PathFor(key, questions)}");
            progress?.Report(questions.Count);
        }
        var entries = cached ?? await GenerateAsync(dataset, split, questions, greedy, progress, ct).ConfigureAwait(false);
        if (cached is null) cache.Save(key, questions, entries);
        return [.. questions.Select((q, i) => QuestionCandidates.Label(q, entries[i].Samples, entries[i].Greedy))];
    }

    private async Task<IReadOnlyList<CandidateCache.Entry>> GenerateAsync(string dataset, string split, IReadOnlyList<QaRecord> questions, bool greedy,
        IProgress<int>? progress, CancellationToken ct)
    {
        var entries = new CandidateCache.Entry[questions.Count];
        var done = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, questions.Count), new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = ct },
            async (i, token) =>
            {
                var text = prompt.Format(questions[i]);
                try
                {
                    var samples = await Sample(text, sampling.For(dataset, i, prompt.Stop), token).ConfigureAwait(false);
                    var best = greedy ? (await Sample(text, sampling.Greedy(prompt.Stop), token).ConfigureAwait(false))[0] : null;
                    entries[i] = new CandidateCache.Entry(samples, best);
                }
                catch (IOException e)
                {
                    // Name the question: an endpoint that refuses one (a prompt beyond its context, say) otherwise reads as
                    // if the whole data set were refused. Finished splits stay cached, so a rerun starts again at this split.
                    throw new ActorEndpointException($"{dataset} {split}, question {i + 1} of {questions.Count} ({text.Length} characters of prompt): {e.Message}", e);
                }
                progress?.Report(Interlocked.Increment(ref done));
            }).ConfigureAwait(false);
        return entries;
    }

    private async Task<IReadOnlyList<string>> Sample(string text, ActorSampling request, CancellationToken ct)
    {
        var completions = await actor.SampleAsync(text, request, ct).ConfigureAwait(false);
        if (completions.Count != request.N)
            throw new InvalidDataException($"actor '{actor.Name}' returned {completions.Count} completions for a request of n = {request.N}.");
        return completions;
    }
}
