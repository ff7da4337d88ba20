using Confer.Compression;
using Confer.Configuration;
using Confer.Federation;
using Confer.Federation.Clients;
using Confer.Federation.Simulation;
using Confer.Models;
using static Confer.Tests.Compression.CodecKit;
using static TorchSharp.torch;

namespace Confer.Tests.Compression;

/// <summary>
/// The codec message stage: lossy uplinks code the change from the task and the server adds it back to what it sent;
/// per-client chains; the config keys; the client state store that keeps error-feedback residuals across rounds.
/// </summary>
public class CodecStageTests
{
    private const string A = "m.q_proj.lora_A.weight";
    private const string B = "m.q_proj.lora_B.weight";

    private static ClientTask Task(NamedTensors? adapter, int round = 1, string client = "client_0") => new(round, client, adapter, null, 4, 8);

    [Fact]
    public void A_lossy_uplink_sends_the_change_and_the_server_adds_it_to_the_tensor_it_sent()
    {
        var stage = new CodecStage(new CodecPlan("topk:0.5", "identity", [], []), 7, new MemoryClientStateStore());
        using var start = Message((A, [10f, 20f, 30f, 40f], [2, 2]), (B, [0f, 0f], [2]));
        // The client trained A by (+1, 0, 0, −3) and B by (0.5, 0.25); "fresh" is a tensor the task did not carry.
        using var trained = Message((A, [11f, 20f, 30f, 37f], [2, 2]), (B, [0.5f, 0.25f], [2]), ("fresh", [5f, 1f], [2]));
        var wire = stage.EncodeUpdate(new ClientUpdate("client_0", trained, 3, new Dictionary<string, double>()), Task(start));
        using (wire.Adapter)
        {
            Assert.Equal("topk:0.5", wire.Codec);
            // Only the two largest changes of A travel (−3 and +1), not the two largest weights (40 and 30).
            Assert.Equal([-3f, 1f], Values(wire.Adapter[A]).Order());
            var decoded = stage.DecodeUpdate(wire, Task(start));
            using (decoded.Adapter)
            {
                Assert.Equal([11f, 20f, 30f, 37f], Values(decoded.Adapter[A]));
                Assert.Equal([0.5f, 0f], Values(decoded.Adapter[B]));
                Assert.Equal([5f, 0f], Values(decoded.Adapter["fresh"]));
            }
        }
    }

    [Fact]
    public void A_lossless_uplink_sends_the_trained_adapter_bit_for_bit()
    {
        var stage = new CodecStage(new CodecPlan("zstd", "identity", [], []), 7);
        using var start = Message(A, 0.1f, 0.2f, 0.3f);
        using var trained = Message(A, 0.1000001f, 0.7f, -1e-30f);
        var wire = stage.EncodeUpdate(new ClientUpdate("client_0", trained, 3, new Dictionary<string, double>()), Task(start));
        using (wire.Adapter)
        {
            var decoded = stage.DecodeUpdate(wire, Task(start));
            using (decoded.Adapter) Assert.True(Same(decoded.Adapter[A], trained[A]));
        }
    }

    [Fact]
    public void A_change_that_decodes_to_another_shape_than_the_tasks_is_refused()
    {
        var stage = new CodecStage(new CodecPlan("int8", "identity", [], []), 7);
        using var start = Message((A, [1f, 2f, 3f, 4f], [2, 2]));
        using var other = Message((A, [1f, 2f, 3f, 4f], [4]));
        using var wire = Chain("int8").Encode(other, Context());
        var e = Assert.Throws<InvalidClientUpdateException>(() =>
            stage.DecodeUpdate(new ClientUpdate("client_0", wire, 3, new Dictionary<string, double>()) { Codec = "int8" }, Task(start)));
        Assert.Contains($"tensor '{A}' decodes to shape [4]; the task's is [2,2]", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Tasks_travel_whole_under_the_downlink_chain_and_each_client_can_have_its_own()
    {
        var plan = new CodecPlan("int8", "bf16 > zstd", ["client_2=identity"], ["client_1=fp16"]);
        var stage = new CodecStage(plan, 7);
        Assert.Equal("int8", plan.Uplink("client_1").Id);
        Assert.Equal("identity", plan.Uplink("client_2").Id);
        Assert.Equal("fp16", plan.Downlink("client_1").Id);
        Assert.Equal("bf16>zstd", plan.Downlink("client_0").Id);
        Assert.Equal(["client_1", "client_2"], plan.OverriddenClients);

        using var adapter = Message((A, [1f / 3, 2f, 3f, 4f], [2, 2]));
        using var delta = Message("m.q_proj.weight", 0.5f, 0.25f);
        foreach (var (client, codec, first) in new[] { ("client_0", "bf16>zstd", 0.333984375f), ("client_1", "fp16", 0.333251953125f) })
        {
            var wire = stage.EncodeTask(new ClientTask(1, client, adapter, delta, 4, 8));
            Assert.Equal(codec, wire.Codec);
            var task = stage.DecodeTask(wire);
            Assert.Equal(first, Values(task.Adapter![A])[0]);
            Assert.Equal([0.5f, 0.25f], Values(task.BaseDelta!["m.q_proj.weight"]));
            wire.Adapter!.Dispose();
            wire.BaseDelta!.Dispose();
            task.Adapter.Dispose();
            task.BaseDelta.Dispose();
        }
    }

    [Theory]
    [InlineData("client_3", "client_id=chain")]
    [InlineData("=fp16", "client_id=chain")]
    [InlineData("client_3=", "client_id=chain")]
    [InlineData("client_3=int9", "uplink_codec_by_client (client_3): unknown codec 'int9'")]
    public void Per_client_chains_are_checked_like_the_run_chain(string entry, string message)
    {
        var e = Assert.Throws<ConfigException>(() => new CodecPlan("identity", "identity", [entry], []));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        var twice = Assert.Throws<ConfigException>(() => new CodecPlan("identity", "identity", ["c=fp16", "c=bf16"], []));
        Assert.Contains("client 'c' is named twice", twice.Message, StringComparison.Ordinal);
        var unknown = Assert.Throws<ConfigException>(() => new CodecPlan("identity", "identity", [], ["client_99=fp16"]).CheckClients(["client_0", "client_1"], "this simulation"));
        Assert.Contains("no client 'client_99' in this simulation", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_config_keys_bind_chains_and_per_client_lists_and_survive_the_yaml_round_trip()
    {
        var s = ConfigBinder.Bind<SimulationSettings>(null,
            ["uplink_codec=topk:0.1 > int8 > zstd", "downlink_codec=bf16", "uplink_codec_by_client=[client_3=identity, client_7=sparse-lora:0.05:ef > int4:64 > zstd]"]);
        s.Validate();
        var again = ConfigBinder.BindText<SimulationSettings>(ConfigBinder.ToYaml(s), "round trip");
        Assert.Equal(s.UplinkCodec, again.UplinkCodec);
        Assert.Equal(["client_3=identity", "client_7=sparse-lora:0.05:ef > int4:64 > zstd"], again.UplinkCodecByClient);
        Assert.Equal("sparse-lora:0.05:ef>int4:64>zstd", again.Codecs().Uplink("client_7").Id);
        Assert.Throws<ConfigException>(() => ConfigBinder.Bind<SimulationSettings>(null, ["uplink_codec=topk"]).Validate());
    }

    [Fact]
    public void The_folder_store_returns_the_newest_entry_before_a_round_and_keeps_only_what_a_rerun_needs()
    {
        using var dir = new TempDir();
        var store = new FolderClientStateStore(dir.Path);
        Assert.Null(store.Read("client_0", "ef", 5));
        using (var r3 = Message("e", 3f)) store.Write("client_0", "ef", 3, r3);
        using (var r5 = Message("e", 5f)) store.Write("client_0", "ef", 5, r5);
        using (var other = Message("e", 9f)) store.Write("client_1", "ef", 4, other);
        using (var e = store.Read("client_0", "ef", 5)!) Assert.Equal([3f], Values(e["e"])); // a re-run of round 5 starts where round 5 started
        using (var e = store.Read("client_0", "ef", 6)!) Assert.Equal([5f], Values(e["e"]));
        using (var e = store.Read("client_1", "ef", 6)!) Assert.Equal([9f], Values(e["e"]));
        using (var r8 = Message("e", 8f)) store.Write("client_0", "ef", 8, r8);
        // Round 8 was based on round 5's entry; round 3's can never be needed again.
        Assert.Equal(["round-000005.safetensors", "round-000008.safetensors"],
            Directory.GetFiles(Path.Combine(dir.Path, "client_0", "ef")).Select(Path.GetFileName).Order());
        using (var again = Message("e", 80f)) store.Write("client_0", "ef", 8, again);
        using (var e = store.Read("client_0", "ef", 9)!) Assert.Equal([80f], Values(e["e"]));
        Assert.Throws<ArgumentException>(() => store.Read("../escape", "ef", 1));
    }
}
