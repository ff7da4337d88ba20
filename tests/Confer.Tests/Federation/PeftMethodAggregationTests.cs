using Confer.Federation;
using Confer.Models;
using Confer.Peft;
using static Confer.Tests.Federation.FedTestKit;
using static TorchSharp.torch;

namespace Confer.Tests.Federation;

/// <summary>
/// FedPrompt and FedAdapter (algorithms.md §9): the soft prompt and the bottleneck adapters are plain parameters, so
/// the strategies average them with p_k like any other trainable tensor — checked against numbers worked out by hand.
/// </summary>
public class PeftMethodAggregationTests
{
    private const string Down = "base_model.model.model.layers.0.mlp_adapter.down.weight";
    private const string DownBias = "base_model.model.model.layers.0.mlp_adapter.down.bias";

    private static FederationSettings Settings() => new() { ClientIds = ["c0", "c1"], LoraRank = 8, LoraAlpha = 16 };

    [Fact]
    public void FedAvgOfPromptsIsTheExampleWeightedMean()
    {
        using var initial = Tensors((PeftKeys.PromptEmbeddings, new float[,] { { 0, 0, 0 }, { 0, 0, 0 } }));
        using var strategy = Create("fedavg", initial, Settings());
        strategy.ConfigureTrain(1, ["c0", "c1"]);
        // n = (100, 300) → p = (¼, ¾): ¼·1 + ¾·5 = 4, ¼·(−2) + ¾·2 = 1, ¼·8 + ¾·0 = 2; ¼·4 + ¾·(−4) = −2, ¼·0 + ¾·4 = 3, ¼·2 + ¾·2 = 2.
        strategy.AggregateTrain(1,
        [
            Update("c0", Tensors((PeftKeys.PromptEmbeddings, new float[,] { { 1, -2, 8 }, { 4, 0, 2 } })), 100),
            Update("c1", Tensors((PeftKeys.PromptEmbeddings, new float[,] { { 5, 2, 0 }, { -4, 4, 2 } })), 300),
        ]);
        Assert.Equal(new float[] { 4, 1, 2, -2, 3, 2 }, strategy.GlobalAdapter[PeftKeys.PromptEmbeddings].data<float>().ToArray());
    }

    [Fact]
    public void FedAvgOfBottleneckAdaptersAveragesEveryTensorWithTheSameWeights()
    {
        using var initial = Tensors((Down, new float[,] { { 0, 0 } }), (DownBias, new float[,] { { 0 } }));
        using var strategy = Create("fedavg", initial, Settings());
        strategy.ConfigureTrain(1, ["c1", "c0"]);
        // n = (30, 10) → p = (¾, ¼): ¾·2 + ¼·6 = 3, ¾·(−4) + ¼·4 = −2; bias ¾·1 + ¼·(−3) = 0.
        strategy.AggregateTrain(1,
        [
            Update("c1", Tensors((Down, new float[,] { { 6, 4 } }), (DownBias, new float[,] { { -3 } })), 10),
            Update("c0", Tensors((Down, new float[,] { { 2, -4 } }), (DownBias, new float[,] { { 1 } })), 30),
        ]);
        Assert.Equal(new float[] { 3, -2 }, strategy.GlobalAdapter[Down].data<float>().ToArray());
        Assert.Equal(new float[] { 0 }, strategy.GlobalAdapter[DownBias].data<float>().ToArray());
    }

    [Fact]
    public void OneClientsPromptBecomesTheGlobalPromptBitForBit()
    {
        using var initial = Tensors((PeftKeys.PromptEmbeddings, new float[,] { { 0, 0 } }));
        using var strategy = Create("fedprox", initial, Settings());
        strategy.ConfigureTrain(1, ["c0"]);
        using var client = Tensors((PeftKeys.PromptEmbeddings, new float[,] { { 0.1f, -7.3f } }));
        strategy.AggregateTrain(1, [Update("c0", client.Clone(), 17)]);
        Assert.Equal(Bits(client[PeftKeys.PromptEmbeddings]), Bits(strategy.GlobalAdapter[PeftKeys.PromptEmbeddings]));
    }

    [Theory]
    [InlineData("flora")]
    [InlineData("ffa-lora")]
    [InlineData("flexlora")]
    [InlineData("hetlora")]
    public void StrategiesOfLoraPairsRefuseAPromptByName(string name)
    {
        using var initial = Tensors((PeftKeys.PromptEmbeddings, new float[,] { { 0, 0 } }));
        var e = Assert.Throws<ArgumentException>(() => Create(name, initial, Settings()));
        Assert.Contains($"'{name}' works on LoRA pairs", e.Message);
        Assert.Contains("fedavg", e.Message);
    }

    private static NamedTensors Tensors(params (string Key, float[,] Values)[] entries)
    {
        var tensors = new NamedTensors();
        foreach (var (key, values) in entries) tensors.Add(key, key.EndsWith(".bias", StringComparison.Ordinal) ? tensor(values).reshape(-1) : tensor(values));
        return tensors;
    }
}
