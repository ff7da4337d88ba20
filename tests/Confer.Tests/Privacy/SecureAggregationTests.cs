using System.Globalization;
using Confer.Federation;
using Confer.Federation.Updates;
using Confer.Models;
using Confer.Privacy.SecureAggregation;
using static Confer.Privacy.SecureAggregation.SecAggMessages;
using static TorchSharp.torch;

namespace Confer.Tests.Privacy;

/// <summary>
/// The secure-aggregation session of real clients and a real server, message by message (the exchanges a round would
/// carry, without a network): masks cancel exactly, one masked input looks uniform and changes every round, a client
/// that drops after sharing keys is unmasked out of the sum exactly, and too few shares fail loudly. Oracles from
/// algorithms.md §7.3; Q(x) is computed independently with <see cref="FixedPoint"/>.
/// </summary>
public class SecureAggregationTests
{
    private const int Length = 100_000;

    [Fact]
    public void Without_dropouts_the_unmasked_sum_equals_the_sum_of_the_quantised_inputs_bitwise()
    {
        var inputs = Inputs(3, seed: 1);
        var session = new Session(["a", "b", "c"], threshold: 2, round: 1);
        var sum = session.Run(inputs);
        Assert.Equal(ExpectedSum(inputs, session.FixedPoint, ["a", "b", "c"]), sum);
    }

    [Fact]
    public void One_masked_input_is_uniform_in_its_low_byte_and_its_mask_changes_every_round()
    {
        var inputs = Inputs(3, seed: 2);
        var first = new Session(["a", "b", "c"], threshold: 2, round: 1);
        first.Run(inputs);
        var second = new Session(["a", "b", "c"], threshold: 2, round: 2);
        second.Run(inputs);
        var quantised = Quantised(inputs["a"], first.FixedPoint);
        var y1 = first.MaskedInputs["a"];
        var y2 = second.MaskedInputs["a"];
        Assert.True(Uniformity.LowBytePValue(y1) > 0.001, $"p = {Uniformity.LowBytePValue(y1)}");
        // y − Q(x) is the mask: never zero, and different in the next round for the same input.
        var mask1 = y1.Skip(CountWords).Zip(quantised, (y, q) => unchecked(y - q)).ToArray();
        var mask2 = y2.Skip(CountWords).Zip(quantised, (y, q) => unchecked(y - q)).ToArray();
        Assert.True(mask1.Count(m => m == 0) < 10, "the mask is (almost) never zero");
        Assert.NotEqual(mask1, mask2);
        Assert.True(mask1.Zip(mask2).Count(p => p.First == p.Second) < 10);
    }

    [Fact]
    public void A_client_dropping_after_share_keys_is_unmasked_out_and_the_others_sum_is_exact()
    {
        var inputs = Inputs(4, seed: 3);
        var session = new Session(["a", "b", "c", "d"], threshold: 3, round: 5) { DropBeforeMasking = ["c"] };
        var sum = session.Run(inputs);
        Assert.Equal(["a", "b", "d"], session.Server.Contributors);
        Assert.Equal(ExpectedSum(inputs, session.FixedPoint, ["a", "b", "d"]), sum);
    }

    [Fact]
    public void A_client_dropping_after_masked_input_still_counts_through_the_others_shares()
    {
        var inputs = Inputs(3, seed: 4);
        var session = new Session(["a", "b", "c"], threshold: 2, round: 1) { DropBeforeUnmask = ["b"] };
        Assert.Equal(ExpectedSum(inputs, session.FixedPoint, ["a", "b", "c"]), session.Run(inputs));
    }

    [Fact]
    public void With_fewer_than_the_threshold_of_shares_unmasking_throws_instead_of_returning_a_wrong_sum()
    {
        var inputs = Inputs(4, seed: 5);
        var session = new Session(["a", "b", "c", "d"], threshold: 3, round: 1) { DropBeforeMasking = ["d"], DropBeforeUnmask = ["a"] };
        // b and c reveal: 2 shares of each secret, threshold 3.
        var error = Assert.Throws<InvalidDataException>(() => session.Run(inputs));
        Assert.Contains("at least 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_client_refuses_a_threshold_of_half_a_second_unmask_and_a_survivor_set_it_did_not_mask_for()
    {
        var inputs = Inputs(4, seed: 6);
        Assert.Throws<InvalidDataException>(() => new Session(["a", "b", "c", "d"], threshold: 2, round: 1).Run(inputs));

        var session = new Session(["a", "b", "c"], threshold: 2, round: 1);
        session.Run(inputs);
        var again = session.UnmaskTask("a");
        Assert.Throws<InvalidDataException>(() => session.Clients["a"].Setup(again));

        var other = new Session(["a", "b", "c"], threshold: 2, round: 1) { StopBeforeUnmask = true };
        other.Run(inputs);
        var task = other.UnmaskTask("a");
        var lying = task with { Config = task.Config.With(SurvivorsKey, Bitmap([true, true, false])) };
        Assert.Throws<InvalidDataException>(() => other.Clients["a"].Setup(lying));
    }

    /// <summary>Random inputs of a few hundredths, like LoRA updates, by client id.</summary>
    private static Dictionary<string, Tensor> Inputs(int clients, int seed)
    {
        using var g = new Generator((ulong)seed);
        return Enumerable.Range(0, clients).ToDictionary(i => ((char)('a' + i)).ToString(), _ => randn([Length], generator: g).mul(0.05).DetachFromDisposeScope());
    }

    private static uint[] Quantised(Tensor x, FixedPoint fp) => fp.Encode(x).Words;

    /// <summary>[Σ w, Σ bits, Σ Q(w·x/cap)] with w = 1 (uniform weights), computed without any masking.</summary>
    private static uint[] ExpectedSum(Dictionary<string, Tensor> inputs, FixedPoint fp, IReadOnlyList<string> contributors)
    {
        var sum = new uint[CountWords + Length];
        sum[0] = (uint)contributors.Count;
        foreach (var id in contributors)
        {
            var q = Quantised(inputs[id], fp);
            for (var i = 0; i < Length; i++) sum[CountWords + i] = unchecked(sum[CountWords + i] + q[i]);
        }
        return sum;
    }

    /// <summary>Drives a session's four steps between real clients and the real server.</summary>
    private sealed class Session(IReadOnlyList<string> ids, int threshold, int round)
    {
        public SecureAggregationServer Server { get; } = new($"test-{round}-{Guid.NewGuid():N}", threshold);

        public Dictionary<string, SecureAggregationClient> Clients { get; } = ids.ToDictionary(id => id, id => new SecureAggregationClient(id));

        public FixedPoint FixedPoint { get; } = FixedPoint.ForContributors(8, ids.Count);

        public Dictionary<string, uint[]> MaskedInputs { get; } = [];

        public IReadOnlyList<string> DropBeforeMasking { get; init; } = [];

        public IReadOnlyList<string> DropBeforeUnmask { get; init; } = [];

        public bool StopBeforeUnmask { get; init; }

        public uint[] Run(Dictionary<string, Tensor> inputs)
        {
            Server.SetParticipants(ids.ToDictionary(id => id, id => Clients[id].Setup(Task(id, AdvertiseKeys, null)).Adapter));
            var shares = new Dictionary<string, NamedTensors>();
            foreach (var id in Server.Participants)
            {
                var reply = Clients[id].Setup(Task(id, ShareKeys, Server.KeyDirectory())).Adapter;
                Server.CheckShares(id, reply);
                shares[id] = reply;
            }
            Server.AddShares(shares);
            foreach (var id in Server.Survivors.Where(id => !DropBeforeMasking.Contains(id)))
            {
                var (task, update) = Training(id, inputs[id]);
                var reply = Clients[id].Mask(update, task).Adapter;
                SecureAggregationServer.CheckMasked(reply, CountWords + Length);
                MaskedInputs[id] = Words(reply[Masked], Masked, CountWords + Length);
                Server.AddMasked(id, reply);
            }
            if (StopBeforeUnmask) return [];
            foreach (var id in Server.Contributors.Where(id => !DropBeforeUnmask.Contains(id)))
            {
                var reply = Clients[id].Setup(UnmaskTask(id)).Adapter;
                Server.CheckReveal(reply);
                Server.AddReveal(id, reply);
            }
            return Server.Unmask();
        }

        public ClientTask UnmaskTask(string id)
        {
            var task = Task(id, Unmask, Server.Inbox(id));
            return task with { Config = task.Config.With(SurvivorsKey, Server.SurvivorBitmap).With(MaskedKey, Server.ContributorBitmap) };
        }

        private ClientTask Task(string id, string step, NamedTensors? tensors) => new(round, id, tensors, null, 1, 1)
        {
            Kind = TaskKind.Setup,
            Config = TaskConfig.Empty.With(StepKey, step).With(SessionKey, Server.Session).With(ThresholdKey, threshold.ToString(CultureInfo.InvariantCulture)),
        };

        /// <summary>A masked-input task whose start is zero, and the "trained" update x (so Δ = x).</summary>
        private (ClientTask Task, ClientUpdate Update) Training(string id, Tensor x)
        {
            var start = new NamedTensors();
            start.Add("w", zeros(Length));
            var trained = new NamedTensors();
            trained.Add("w", x.clone());
            var task = new ClientTask(round, id, start, null, 1, 1)
            {
                Config = TaskConfig.Empty.With(UpdateSpace.FormKey, UpdateSpace.Name(UpdateForm.AdapterDelta)).With(StepKey, MaskedInput).With(SessionKey, Server.Session)
                    .With(SurvivorsKey, Server.SurvivorBitmap).With(ClipRangeKey, FixedPoint.ClipRange)
                    .With(TargetRangeKey, FixedPoint.TargetRange.ToString(CultureInfo.InvariantCulture)).With(WeightKey, "uniform"),
            };
            return (task, new ClientUpdate(id, trained, 10, new Dictionary<string, double>()));
        }
    }
}
