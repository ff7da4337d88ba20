using Confer.Federation.Clients;
using Confer.Federation.Rounds;

namespace Confer.Federation.Simulation;

/// <summary>
/// The simulation's clients: every client is always available, and an exchange runs the addressed clients one after
/// another, in ascending id order, on the process's one model. Replies go through the driver's admit function exactly
/// as a deployed server's would, so a refused update is dropped with the same reason.
/// </summary>
internal sealed class InProcessClientPool(IReadOnlyList<ClientRunner> runners, IRoundProgress progress, int rounds) : IClientPool
{
    private readonly Dictionary<string, ClientRunner> _byId = runners.ToDictionary(r => r.Client.Id, StringComparer.Ordinal);
    private readonly IReadOnlyList<string> _ids = [.. runners.Select(r => r.Client.Id)];

    public Task<IReadOnlyList<string>> AvailableAsync(int round, CancellationToken ct) => Task.FromResult(_ids);

    public IReadOnlyList<string> ReachableNow() => _ids;

    public Task<ExchangeResult> ExchangeAsync(Exchange exchange, CancellationToken ct)
    {
        var replies = new List<ClientUpdate>();
        var dropped = new List<DroppedClient>();
        foreach (var task in exchange.Tasks)
        {
            ct.ThrowIfCancellationRequested();
            var runner = _byId[task.ClientId];
            ClientUpdate reply;
            if (exchange.Kind == TaskKind.Train)
            {
                progress.TrainingStarted($"round {exchange.Round}/{rounds} {task.ClientId}", runner.Client.PlannedSteps(task));
                reply = runner.Run(task, progress.TrainingProgress, ct);
                progress.TrainingFinished();
            }
            else
            {
                reply = runner.Run(task, ct: ct);
            }
            try
            {
                replies.Add(exchange.Admit(reply));
            }
            catch (InvalidClientUpdateException e)
            {
                dropped.Add(new DroppedClient(task.ClientId, e.Reason));
                progress.Warning($"round {exchange.Round}: dropped update from {task.ClientId}: {e.Reason}");
            }
        }
        return Task.FromResult(new ExchangeResult(replies, dropped));
    }
}
