namespace Confer.Serving;

/// <summary>
/// One request uses the model at a time (a TorchSharp module is not thread-safe), and at most a bounded number wait
/// for it: a request beyond that is refused with 429 at once instead of piling up memory and latency. A waiting
/// request whose client goes away leaves the queue.
/// </summary>
public sealed class GenerationGate(int maxWaiting) : IDisposable
{
    private readonly SemaphoreSlim _model = new(1, 1);
    private int _waiting;

    /// <summary>Runs <paramref name="work"/> on a worker thread once the model is free.</summary>
    /// <exception cref="OpenAiException">429 when <c>maxWaiting</c> requests already wait.</exception>
    public async Task<T> RunAsync<T>(Func<T> work, CancellationToken ct)
    {
        if (Interlocked.Increment(ref _waiting) > maxWaiting + 1)
        {
            Interlocked.Decrement(ref _waiting);
            throw new OpenAiException(429, $"The server is busy: {maxWaiting} requests are already waiting for the model. Retry later.", "rate_limit_exceeded", code: "server_busy");
        }
        try
        {
            await _model.WaitAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Decrement(ref _waiting);
            throw;
        }
        try
        {
            // Decoding is seconds of CPU work: it runs off the request thread so Kestrel keeps answering (401, 429, /health).
            return await Task.Factory.StartNew(work, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        }
        finally
        {
            _model.Release();
            Interlocked.Decrement(ref _waiting);
        }
    }

    public void Dispose() => _model.Dispose();
}
