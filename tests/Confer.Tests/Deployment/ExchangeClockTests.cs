using Confer.Federation;
using Confer.Federation.Deployment;
using Confer.Federation.Rounds;
using Confer.Federation.Scheduling;
using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Tests.Deployment;

/// <summary>
/// The gRPC gate's clock: what it records of each client in a training exchange, and that the deadline scheduler,
/// given the record, rules out a client the gate saw miss the deadline while keeping the one that made it.
/// </summary>
public class ExchangeClockTests
{
    [Fact]
    public void A_reply_is_timed_by_the_server_and_sized_as_it_travelled()
    {
        using var adapter = Tensors(1000);
        using var wire = Tensors(250);
        var task = new ClientTask(1, "client_0", adapter, null, LoraRank: 4, LoraAlpha: 8);
        var clock = new ExchangeClock();
        clock.DownloadStarted("client_0");
        clock.Delivered("client_0");
        Thread.Sleep(120); // "training"
        clock.UploadStarted("client_0");
        clock.Received(task, new ClientUpdate("client_0", wire, 10, new Dictionary<string, double> { ["train_tokens"] = 640 }));

        var t = Assert.Single(clock.Close([task]));
        Assert.Equal(("client_0", 4, 4000L, 1000L, 640L), (t.ClientId, t.Rank, t.BytesDown, t.BytesUp, t.Tokens));
        Assert.InRange(t.ComputeSeconds, 0.1, 60);
        Assert.True(t.DownloadSeconds >= 0 && t.UploadSeconds >= 0);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(-5.0)]
    [InlineData(double.PositiveInfinity)]
    public void A_token_count_that_is_not_a_positive_finite_number_counts_as_none(double reported)
    {
        using var adapter = Tensors(10);
        var task = new ClientTask(1, "client_0", adapter, null, 4, 8);
        var clock = new ExchangeClock();
        clock.DownloadStarted("client_0");
        clock.Delivered("client_0");
        clock.UploadStarted("client_0");
        clock.Received(task, new ClientUpdate("client_0", adapter, 10, new Dictionary<string, double> { ["train_tokens"] = reported }));
        Assert.Equal(0, Assert.Single(clock.Close([task])).Tokens);
    }

    /// <summary>
    /// client_0 replies at once; client_1 gets its task and is still training when the exchange closes at the
    /// deadline. Its censored timing (the time since delivery, for client_0's work and bytes per rank) makes the
    /// deadline scheduler predict it past a deadline client_0 makes, so the next round selects client_0 only.
    /// Without the censored timing client_1 would never be timed, and a client never timed is always eligible.
    /// </summary>
    [Fact]
    public void A_client_that_missed_the_deadline_gets_a_lower_bound_and_the_deadline_scheduler_rules_it_out()
    {
        using var adapter = Tensors(1000);
        using var wire = Tensors(1000);
        var fast = new ClientTask(1, "client_0", adapter, null, 4, 8);
        var slow = new ClientTask(1, "client_1", adapter, null, 8, 16);
        var absent = new ClientTask(1, "client_2", adapter, null, 4, 8);
        var clock = new ExchangeClock();
        foreach (var id in new[] { "client_0", "client_1" })
        {
            clock.DownloadStarted(id);
            clock.Delivered(id);
        }
        clock.UploadStarted("client_0");
        clock.Received(fast, new ClientUpdate("client_0", wire, 10, new Dictionary<string, double> { ["train_tokens"] = 500 }));
        Thread.Sleep(400);
        clock.MissedDeadline("client_1");
        clock.MissedDeadline("client_2"); // never downloaded its task: nothing is known about it
        var timings = clock.Close([fast, slow, absent]);

        Assert.Equal(["client_0", "client_1"], timings.Select(t => t.ClientId));
        var censored = timings[1];
        Assert.Equal((8, 4000L, 8000L, 500L, 0.0), (censored.Rank, censored.BytesDown, censored.BytesUp, censored.Tokens, censored.UploadSeconds));
        Assert.InRange(censored.ComputeSeconds, 0.35, 60);

        var record = new RoundRecord(1, ["client_0", "client_1", "client_2"], ["client_0"], [new("client_1", "missed"), new("client_2", "missed")], 10,
            new Dictionary<string, double>(), [], [], 1) { Timings = timings };
        record.Validate();
        var history = new ClientHistory([record]);
        List<ClientProfile> profiles = [.. new[] { "client_0", "client_1" }.Select(id => new ClientProfile(id) { History = history.Of(id) })];
        var scheduler = SchedulerRegistry.Create("deadline", new SchedulingOptions { Fraction = 1, MinClients = 1, RoundDeadlineSeconds = 0.3 });
        Assert.Equal(["client_0"], scheduler.Select(2, profiles));
    }

    private static NamedTensors Tensors(int elements)
    {
        var m = new NamedTensors();
        m.Add("w", zeros([elements], ScalarType.Float32));
        return m;
    }
}
