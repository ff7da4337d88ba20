using Confer.Data;
using Confer.Tokenizers;

namespace Confer.Tests.Data;

public class ExampleEncoderTests
{
    private static readonly Lazy<TextTokenizer> Llama = new(() => TextTokenizer.FromPretrained(SharedDataPath.Of("tokenizers", "llama2")));
    private static readonly Lazy<IReadOnlyList<InstructionRecord>> Dolly = new(() => InstructionRecordReader.Load(DataPaths.DollyShard("global_test.json")));

    private static ExampleEncoder Encoder(ExampleEncoderOptions? options = null) => new(Llama.Value, Prompter.Load("alpaca"), options);

    [Fact]
    public void DollyRecordMasksExactlyThePromptAndEndsWithEos()
    {
        var record = Dolly.Value.First(r => r.Input.Length > 0); // exercises the input block of the template
        var encoder = Encoder();
        var example = encoder.Encode(record);
        var tok = Llama.Value;
        var prompt = encoder.EncodePrompt(record);
        var p = prompt.Count;

        Assert.Equal(tok.BosId, example.InputIds[0]);
        Assert.Equal(tok.EosId, example.InputIds[^1]);
        Assert.Equal(prompt, example.InputIds[..p]);
        Assert.All(example.Labels[..p], l => Assert.Equal(TokenizedExample.IgnoreLabel, l));
        Assert.Equal(example.InputIds[p..], example.Labels[p..]);
        Assert.Equal(Prompter.Load("alpaca").Build(record).Prompt, tok.Decode(prompt));
        Assert.Equal(record.Output, tok.Decode(example.Labels[p..^1])); // the targets are exactly the response…
        Assert.Equal(example.Length - p, example.TargetCount); // …plus EOS
    }

    [Fact]
    public void TrainOnInputsLabelsEveryToken()
    {
        var example = Encoder(new ExampleEncoderOptions { TrainOnInputs = true }).Encode(Dolly.Value[0]);
        Assert.Equal(example.InputIds, example.Labels);
        Assert.Equal(example.Length - 1, example.TargetCount);
    }

    [Fact]
    public void CutOffTruncatesWithoutEosAndDropsExamplesWithNoResponseLeft()
    {
        var record = Dolly.Value[0];
        var promptLength = Encoder().EncodePrompt(record).Count;
        var full = Encoder().Encode(record);

        var truncated = Encoder(new ExampleEncoderOptions { MaxLength = promptLength + 3 }).Encode(record);
        Assert.Equal(promptLength + 3, truncated.Length);
        Assert.Equal(full.InputIds[..(promptLength + 3)], truncated.InputIds);
        Assert.NotEqual(Llama.Value.EosId, truncated.InputIds[^1]);
        Assert.Equal(3, truncated.TargetCount);

        var records = new[] { record, Dolly.Value[1] };
        var cut = Encoder(new ExampleEncoderOptions { MaxLength = promptLength });
        var dataset = cut.EncodeAll(records);
        Assert.True(dataset.Dropped >= 1);
        Assert.Equal(2, dataset.Total);
        Assert.Equal(dataset.Total - dataset.Dropped, dataset.Examples.Count);

        var kept = Encoder(new ExampleEncoderOptions { MaxLength = promptLength, KeepFullyTruncated = true }).EncodeAll(records);
        Assert.Equal(2, kept.Examples.Count);
        Assert.Equal(0, kept.Examples[0].TargetCount);
        Assert.Equal(dataset.Dropped, kept.Examples.Count(e => e.TargetCount == 0));
        Assert.True(kept.Truncated >= dataset.Dropped);
    }

    [Fact]
    public void WholeDollyTestSetFitsTheDefaultCutOffAndBatches()
    {
        var dataset = Encoder().EncodeAll(Dolly.Value);
        Assert.Equal(80, dataset.Total);
        Assert.Equal(dataset.Total - dataset.Dropped, dataset.Examples.Count);
        Assert.All(dataset.Examples, e => Assert.True(e.Length <= 512 && e.TargetCount > 0));

        using var batch = BatchCollator.Collate(dataset.Examples.Take(4).ToList());
        Assert.Equal([4L, dataset.Examples.Take(4).Max(e => e.Length)], batch.InputIds.shape);
        Assert.Equal(dataset.Examples.Take(4).Sum(e => (long)e.TargetCount), batch.TargetTokenCount);
    }

    [Fact]
    public void BoundaryTokenMergingPromptAndResponseIsATarget()
    {
        // Byte-level BPE can merge the prompt's last "\n" with a response starting with "\n" into one token.
        var (example, truncated, cutOff) = ExampleEncoder.Assemble([1, 5, 6, 7], [1, 5, 6, 9, 10], eosId: 2, new ExampleEncoderOptions());
        Assert.Equal([1, 5, 6, 9, 10, 2], example.InputIds);
        Assert.Equal([-100, -100, -100, 9, 10, 2], example.Labels);
        Assert.False(truncated);
        Assert.False(cutOff);
    }

    [Fact]
    public void TokenizerWithoutEosIsRejected()
    {
        var bert = TextTokenizer.FromPretrained(SharedDataPath.Of("tokenizers", "bert-base-uncased"));
        Assert.Contains("no EOS", Assert.Throws<ArgumentException>(() => new ExampleEncoder(bert, Prompter.Load("alpaca"))).Message);
    }
}
