using System.Text.Json;
using Confer.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Confer.Models.Safetensors;
using Confer.Models.Checkpoints;

namespace Confer.Tests;

public sealed class CheckpointTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A small module tree: named fields, a Sequential and an integer buffer.</summary>
    private sealed class TinyNet : nn.Module<Tensor, Tensor>
    {
        private readonly Embedding embed_tokens;
        private readonly Sequential body;
        private readonly Linear lm_head;
#pragma warning disable IDE0052 // read by TorchSharp: fields of a Module register as its parameters and buffers
        private readonly Tensor step;
#pragma warning restore IDE0052

        public TinyNet(long seed) : base(nameof(TinyNet))
        {
            manual_seed(seed);
            embed_tokens = nn.Embedding(11, 8);
            body = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 8));
            lm_head = nn.Linear(8, 11, hasBias: false);
            step = tensor(new long[] { seed });
            RegisterComponents();
        }

        public override Tensor forward(Tensor ids) => lm_head.forward(body.forward(embed_tokens.forward(ids)));
    }

    [Fact]
    public void SingleFileRoundTripRestoresEveryTensorBitwise()
    {
        using var source = new TinyNet(1);
        using var target = new TinyNet(2);
        Checkpoint.Save(source, _dir.Path);

        Assert.True(File.Exists(_dir.File("model.safetensors")));
        Assert.Equal("pt", SafetensorsFile.ReadMetadata(_dir.File("model.safetensors"))["format"]);
        Checkpoint.LoadInto(target, _dir.Path);

        AssertSameState(source, target);
    }

    [Fact]
    public void ShardedRoundTripWritesIndexAndRestoresEveryTensor()
    {
        using var source = new TinyNet(3);
        using var target = new TinyNet(4);
        Checkpoint.Save(source, _dir.Path, maxShardBytes: 400);

        var shards = Directory.GetFiles(_dir.Path, "model-*-of-*.safetensors").Select(Path.GetFileName).Order().ToList();
        Assert.True(shards.Count > 2, $"expected several shards, got {shards.Count}");
        Assert.Equal($"model-00001-of-{shards.Count:D5}.safetensors", shards[0]);
        Assert.False(File.Exists(_dir.File("model.safetensors")));
        using var index = JsonDocument.Parse(File.ReadAllText(_dir.File("model.safetensors.index.json")));
        long expectedBytes = source.state_dict().Values.Sum(t => t.numel() * t.element_size());
        Assert.Equal(expectedBytes, index.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
        var weightMap = index.RootElement.GetProperty("weight_map").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.Equal(source.state_dict().Keys.Order(StringComparer.Ordinal), weightMap.Keys);
        foreach (var shard in shards) Assert.True(new FileInfo(_dir.File(shard!)).Length < 400 + 512);

        Checkpoint.LoadInto(target, _dir.Path);
        AssertSameState(source, target);

        Checkpoint.Save(source, _dir.Path); // back to one file: the shards and index of the earlier save go
        Assert.Single(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void HalfPrecisionCheckpointsConvertToTheModelDtype()
    {
        using var source = new TinyNet(5);
        using var target = new TinyNet(6);
        Checkpoint.Save(source, _dir.Path, dtype: ScalarType.BFloat16);
        Assert.Equal("BF16", SafetensorsFile.ReadHeader(_dir.File("model.safetensors")).Tensors.First(t => t.Name == "lm_head.weight").Dtype);
        Assert.Equal("I64", SafetensorsFile.ReadHeader(_dir.File("model.safetensors")).Tensors.First(t => t.Name == "step").Dtype);

        Checkpoint.LoadInto(target, _dir.Path);

        var expected = source.state_dict()["lm_head.weight"].to(ScalarType.BFloat16).to(ScalarType.Float32);
        Assert.True(BitEqual(expected, target.state_dict()["lm_head.weight"]));
        Assert.Equal(ScalarType.Float32, target.state_dict()["lm_head.weight"].dtype);
    }

    [Fact]
    public void LoadsInPlaceSoHeldReferencesSeeTheNewWeights()
    {
        using var source = new TinyNet(7);
        using var target = new TinyNet(8);
        var held = target.parameters().First(); // what an optimizer would hold
        Checkpoint.Save(source, _dir.Path);

        Checkpoint.LoadInto(target, _dir.Path);

        Assert.True(BitEqual(held, source.parameters().First()));
        Assert.Same(held, target.parameters().First());
    }

    [Fact]
    public void MissingKeyIsRejectedUnlessOptional()
    {
        using var source = new TinyNet(9);
        using var target = new TinyNet(10);
        Checkpoint.Save(source, _dir.Path, skipKeys: new HashSet<string> { "lm_head.weight" });

        var e = AssertRejectedAndUnchanged(target);
        Assert.Contains("'lm_head.weight'", e.Message);
        Assert.Contains("missing", e.Message);

        Checkpoint.LoadInto(target, _dir.Path, optionalKeys: new HashSet<string> { "lm_head.weight" });
        Assert.True(BitEqual(source.state_dict()["body.0.weight"], target.state_dict()["body.0.weight"]));
        Assert.False(BitEqual(source.state_dict()["lm_head.weight"], target.state_dict()["lm_head.weight"]));
    }

    [Fact]
    public void IgnoredKeysAreNeitherSavedNorRequired()
    {
        using var source = new TinyNet(11);
        using var target = new TinyNet(12);
        Func<string, bool> ignoreHead = k => k.StartsWith("lm_head.", StringComparison.Ordinal);
        Checkpoint.Save(source, _dir.Path, ignore: ignoreHead);
        Assert.False(SafetensorsFile.ReadHeader(_dir.File("model.safetensors")).TryGet("lm_head.weight", out _));

        Checkpoint.LoadInto(target, _dir.Path, ignore: ignoreHead);

        Assert.True(BitEqual(source.state_dict()["embed_tokens.weight"], target.state_dict()["embed_tokens.weight"]));
    }

    [Fact]
    public void ExtraKeyIsRejected()
    {
        SaveStateWith(new TinyNet(13), tensors => tensors.Add("body.9.weight", zeros(2, 2)));
        using var target = new TinyNet(14);
        var e = AssertRejectedAndUnchanged(target);
        Assert.Contains("'body.9.weight'", e.Message);
        Assert.Contains("not a parameter", e.Message);
    }

    [Fact]
    public void WrongShapeIsRejected()
    {
        SaveStateWith(new TinyNet(15), tensors => tensors.Replace("body.2.weight", zeros(8, 15)));
        using var target = new TinyNet(16);
        var e = AssertRejectedAndUnchanged(target);
        Assert.Contains("'body.2.weight'", e.Message);
        Assert.Contains("[8, 15]", e.Message);
        Assert.Contains("[8, 16]", e.Message);
    }

    [Fact]
    public void IntegerTensorForAFloatParameterIsRejected()
    {
        SaveStateWith(new TinyNet(17), tensors => tensors.Replace("body.0.bias", zeros(16, dtype: ScalarType.Int32)));
        using var target = new TinyNet(18);
        var e = AssertRejectedAndUnchanged(target);
        Assert.Contains("'body.0.bias'", e.Message);
        Assert.Contains("I32", e.Message);
    }

    [Fact]
    public void TruncatedShardIsRejectedBeforeAnyWeightIsCopied()
    {
        using var source = new TinyNet(19);
        Checkpoint.Save(source, _dir.Path, maxShardBytes: 400);
        string last = Directory.GetFiles(_dir.Path, "model-*-of-*.safetensors").Order().Last();
        byte[] bytes = File.ReadAllBytes(last);
        File.WriteAllBytes(last, bytes[..^4]);

        using var target = new TinyNet(20);
        var e = AssertRejectedAndUnchanged(target);
        Assert.Contains(last, e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Matches("tensor '[^']+'", e.Message);
    }

    [Fact]
    public void FolderWithoutWeightsGivesAClearError()
    {
        using var target = new TinyNet(21);
        var e = Assert.Throws<FileNotFoundException>(() => Checkpoint.LoadInto(target, _dir.Path));
        Assert.Contains("model.safetensors", e.Message);
    }

    /// <summary>Writes the module's state with one edit as the checkpoint's single file.</summary>
    private void SaveStateWith(TinyNet module, Action<NamedTensors> edit)
    {
        using var _ = module;
        using var tensors = new NamedTensors();
        foreach (var (name, t) in module.state_dict()) tensors.Add(name, t.detach().clone());
        edit(tensors);
        SafetensorsFile.Save(_dir.File("model.safetensors"), tensors);
    }

    private InvalidDataException AssertRejectedAndUnchanged(TinyNet target)
    {
        var before = target.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadInto(target, _dir.Path));
        foreach (var (name, t) in target.state_dict())
            Assert.True(BitEqual(before[name], t), $"'{name}' changed by a failed load");
        return e;
    }

    private static bool BitEqual(Tensor a, Tensor b) =>
        a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.contiguous().bytes.SequenceEqual(b.contiguous().bytes);

    private static void AssertSameState(nn.Module expected, nn.Module actual)
    {
        var a = expected.state_dict();
        var b = actual.state_dict();
        Assert.Equal(a.Keys, b.Keys);
        foreach (var (name, t) in a) Assert.True(BitEqual(t, b[name]), $"'{name}' differs");
    }
}
