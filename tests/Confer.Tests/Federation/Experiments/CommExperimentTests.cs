using Confer.Federation.Experiments;
using Confer.Peft;
using Confer.Tests.Federation.Simulation;

namespace Confer.Tests.Federation.Experiments;

/// <summary>
/// <c>confer experiment comm</c> with a PEFT-method axis on the stories260K fixture: LoRA, a soft prompt and bottleneck
/// adapters, each fp32 and int8 on the uplink, one round each; ranks apply to LoRA only; the reference runs first.
/// </summary>
public class CommExperimentTests : IClassFixture<SimulationEngineTests.ModelFolder>
{
    private readonly SimulationEngineTests.ModelFolder _model;

    public CommExperimentTests(SimulationEngineTests.ModelFolder model) => _model = model;

    [Fact]
    public void A_grid_over_peft_methods_runs_each_method_with_each_codec_and_ranks_only_for_lora()
    {
        using var dir = new TempDir();
        var config = TinyBaseExperiment.Write(dir.Path, _model.Path, s => { s.PromptTokens = 4; s.AdapterSize = 4; });
        var grid = new ExperimentGrid(
        [
            new GridAxis(CommExperiment.PeftKey, "peft", ["lora", "prompt", "adapter"]),
            new GridAxis(CommExperiment.UplinkKey, "up", ["identity", "int8"]),
            new GridAxis(CommExperiment.DownlinkKey, "down", ["identity"]),
            new GridAxis(CommExperiment.RankKey, "r", ["4", "2"]),
        ]);
        var experiment = new CommExperiment(config, [], grid, "comm");

        // 2 codecs × (2 LoRA ranks + prompt + adapter): a soft prompt or an adapter at rank 2 would repeat its rank-4 cell.
        Assert.Equal(8, experiment.Cells.Count);
        Assert.Equal(("lora", "identity", "4"), (experiment.Cells[0]["peft_method"], experiment.Cells[0]["uplink_codec"], experiment.Cells[0]["lora_r"]));
        Assert.True(experiment.Cells[0].SameAs(experiment.Reference));
        Assert.DoesNotContain(experiment.Cells, c => c["peft_method"] != "lora" && c["lora_r"] == "2");
        Assert.Equal(PeftMethod.Prompt, experiment.Settings(experiment.Cells.First(c => c["peft_method"] == "prompt")).PeftMethod);

        var rows = experiment.Cells.Select(c => experiment.Run(c, new SilentRoundProgress(), TestContext.Current.CancellationToken)).ToList();
        Assert.All(rows, r => Assert.True(r.FinalLoss is > 0 && r.Rounds == 1 && r.UpBytes > 0, r.ToString()));
        CommRow Row(string method, string codec) => rows.Single(r => r.Cell["peft_method"] == method && r.Cell["uplink_codec"] == codec && r.Cell["lora_r"] == "4");
        foreach (var method in new[] { "lora", "prompt", "adapter" })
        {
            // int8 sends a byte per value plus a scale per 256: under a third of fp32, for every method's update.
            Assert.True(Row(method, "int8").UpBytes * 3 < Row(method, "identity").UpBytes, method);
            Assert.Equal(Row(method, "int8").RawUpBytes, Row(method, "identity").RawUpBytes);
        }
        // A 4-token soft prompt is far smaller than LoRA on every projection.
        Assert.True(Row("prompt", "identity").UpBytes * 10 < Row("lora", "identity").UpBytes);

        var markdown = CommReport.Markdown(rows, rows.Single(r => r.IsReference));
        Assert.Contains("prompt", markdown, StringComparison.Ordinal);
        Assert.Contains("adapter", markdown, StringComparison.Ordinal);
    }
}
