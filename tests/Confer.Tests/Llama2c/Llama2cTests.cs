using System.Text.Json;
using Confer.Models;
using Confer.Models.Llama;
using Confer.Models.Llama2c;
using Confer.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;
using Confer.Models.Safetensors;

namespace Confer.Tests;

public sealed class Llama2cTests : IDisposable
{
    private static readonly string V0 = SharedDataPath.Of("models", "stories260K", "stories260K_fp32_dequantized.bin");
    private static readonly string V2 = SharedDataPath.Of("models", "stories260K", "stories260K_q80.bin");
    private static readonly string Tok512 = SharedDataPath.Of("models", "stories260K", "tok512.bin");

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void HeadersOfBothFormatsDescribeStories260K()
    {
        var v0 = Llama2cCheckpoint.ReadConfig(V0);
        var v2 = Llama2cCheckpoint.ReadConfig(V2);

        Assert.Equal(new Llama2cConfig(64, 172, 5, 8, 4, 512, 512, SharedClassifier: true, Version: 0, GroupSize: 0), v0);
        Assert.Equal(v0 with { Version = 2, GroupSize = 32 }, v2);
        Assert.Equal((8, 32), (v0.HeadDim, v0.KvDim));
    }

    [Fact]
    public void QuantizedAndFp32CheckpointsGiveTheSameHfTensors()
    {
        var (_, fp32) = Llama2cCheckpoint.Load(V0);
        var (_, q80) = Llama2cCheckpoint.Load(V2);
        using (fp32)
        using (q80)
        {
            Assert.Equal(1 + 5 * 9 + 1, fp32.Count);
            Assert.True(fp32.HasSameLayout(q80));
            Assert.False(fp32.Contains("lm_head.weight")); // shared classifier: tied embeddings
            Assert.Equal(new long[] { 512, 64 }, fp32["model.embed_tokens.weight"].shape);
            Assert.Equal(new long[] { 32, 64 }, fp32["model.layers.4.self_attn.k_proj.weight"].shape);
            Assert.Equal(new long[] { 172, 64 }, fp32["model.layers.0.mlp.gate_proj.weight"].shape);
            Assert.Equal(new long[] { 64, 172 }, fp32["model.layers.0.mlp.down_proj.weight"].shape);
            Assert.Equal(new long[] { 64 }, fp32["model.norm.weight"].shape);
            foreach (var (name, t) in fp32)
                Assert.True(t.allclose(q80[name], rtol: 0, atol: 1e-6), $"{name} differs between v0 and v2");
        }
    }

    [Fact]
    public void Version1Fp32ExportIsReadToo()
    {
        // A v1 file holds the same fp32 blocks as v0, reordered (norms first) behind a 256-byte header.
        byte[] v0 = File.ReadAllBytes(V0);
        const int dim = 64, hidden = 172, layers = 5, vocab = 512, kv = 32;
        long at = 28;
        byte[] Take(long floats) { var s = v0.AsSpan((int)at, (int)(floats * 4)).ToArray(); at += floats * 4; return s; }
        var tok = Take(vocab * dim); var rmsAtt = Take(layers * dim);
        var attn = Take(layers * (dim * dim + 2 * kv * dim + dim * dim)); var rmsFfn = Take(layers * dim);
        var ffn = Take(layers * 3 * hidden * dim); var rmsFinal = Take(dim);
        var header = new byte[256];
        int[] ints = [unchecked((int)0x616b3432), 1, dim, hidden, layers, 8, 4, vocab, 512];
        Buffer.BlockCopy(ints, 0, header, 0, ints.Length * 4);
        header[36] = 1; // shared classifier
        string v1 = _dir.File("v1.bin");
        File.WriteAllBytes(v1, [.. header, .. rmsAtt, .. rmsFfn, .. rmsFinal, .. tok, .. attn, .. ffn]);

        var (config, fromV1) = Llama2cCheckpoint.Load(v1);
        var (_, fromV0) = Llama2cCheckpoint.Load(V0);
        using (fromV1)
        using (fromV0)
        {
            Assert.Equal(1, config.Version);
            foreach (var (name, t) in fromV0) Assert.True(t.equal(fromV1[name]).all().item<bool>(), name);
        }
    }

    [Fact]
    public void PermutedQkProjectionsReproduceLlama2cRopeUnderRotateHalf()
    {
        using var raw = Llama2cCheckpoint.ReadRaw(V0, out var c);
        var (_, hf) = Llama2cCheckpoint.Load(V0);
        using var _ = hf;
        var x = randn([c.Dim], generator: new Generator(3));
        const int position = 7;
        foreach (var (rawName, hfName, heads) in new[] { ("layers.2.wq", "model.layers.2.self_attn.q_proj.weight", c.Heads), ("layers.2.wk", "model.layers.2.self_attn.k_proj.weight", c.KvHeads) })
        {
            var inverseFreq = pow(10000.0, -arange(0, c.HeadDim, 2, dtype: ScalarType.Float64) / c.HeadDim).to(ScalarType.Float32);
            var cos = (inverseFreq * position).cos();
            var sin = (inverseFreq * position).sin();

            // llama2.c: rotate adjacent pairs (q[2i], q[2i+1]) by angle position·θ_i.
            var pairs = matmul(raw[rawName], x).view(heads, c.HeadDim / 2, 2);
            var (a, b) = (pairs.select(2, 0), pairs.select(2, 1));
            var llamaEven = a * cos - b * sin;
            var llamaOdd = a * sin + b * cos;

            // HF: q·cos + rotate_half(q)·sin, pairing q[i] with q[i + d/2].
            var q = matmul(hf[hfName], x).view(heads, c.HeadDim);
            var (x1, x2) = (q.narrow(1, 0, c.HeadDim / 2), q.narrow(1, c.HeadDim / 2, c.HeadDim / 2));
            var hfFirst = x1 * cos - x2 * sin;
            var hfSecond = x2 * cos + x1 * sin;

            // Same rotated values, only reordered within each head, so every q·k score is identical.
            Assert.True(hfFirst.allclose(llamaEven, atol: 1e-5), rawName);
            Assert.True(hfSecond.allclose(llamaOdd, atol: 1e-5), rawName);
        }
    }

    [Fact]
    public void TruncatedOrForeignFilesAreRejected()
    {
        byte[] bytes = File.ReadAllBytes(V2);
        string truncated = _dir.File("truncated.bin");
        File.WriteAllBytes(truncated, bytes[..^100]);
        var e = Assert.Throws<InvalidDataException>(() => Llama2cCheckpoint.Load(truncated));
        Assert.Contains(truncated, e.Message);
        Assert.Contains("truncated", e.Message);

        string foreign = _dir.File("foreign.bin");
        File.WriteAllBytes(foreign, [.. Enumerable.Repeat((byte)0xFF, 64)]);
        Assert.Contains("invalid header", Assert.Throws<InvalidDataException>(() => Llama2cCheckpoint.ReadConfig(foreign)).Message);
    }

    [Fact]
    public void VocabularyRecoversSentencePiecePieces()
    {
        var pieces = Llama2cVocabulary.Read(Tok512).Pieces;
        Assert.Equal(512, pieces.Count);
        Assert.Equal(new SentencePieceEntry("<unk>", 0, SentencePieceType.Unknown), pieces[0]);
        Assert.Equal(("<s>", SentencePieceType.Control), (pieces[1].Piece, pieces[1].Type));
        Assert.Equal(("</s>", SentencePieceType.Control), (pieces[2].Piece, pieces[2].Type));
        Assert.Equal(("<0x0A>", SentencePieceType.Byte), (pieces[13].Piece, pieces[13].Type));
        Assert.All(pieces.Skip(259), p => Assert.Equal(SentencePieceType.Normal, p.Type));
        Assert.Contains(pieces, p => p.Piece.StartsWith('\u2581'));
        Assert.DoesNotContain(pieces, p => p.Piece.Contains(' '));
    }

    [Fact]
    public void ConvertedFolderLoadsAndItsTokenizerDecodesTheReferenceText()
    {
        var config = Llama2cConverter.ConvertToHf(V2, Tok512, _dir.Path);

        var hf = LlamaConfig.Load(_dir.File("config.json"));
        Assert.Equal((64, 172, 5, 8, 4, 512, 512), (hf.HiddenSize, hf.IntermediateSize, hf.NumHiddenLayers, hf.NumAttentionHeads, hf.KeyValueHeads, hf.VocabSize, hf.MaxPositionEmbeddings));
        Assert.True(hf.TieWordEmbeddings);
        Assert.Equal((1e-5, 10000.0, 1, 2), (hf.RmsNormEps, hf.RopeTheta, hf.BosTokenId!.Value, hf.EosTokenId!.Value));
        Assert.Equal(config.Dim, hf.HiddenSize);
        var header = SafetensorsFile.ReadHeader(_dir.File("model.safetensors"));
        Assert.Equal(47, header.Tensors.Count);
        Assert.All(header.Tensors, t => Assert.Equal("F32", t.Dtype));

        var tokenizer = TextTokenizer.FromPretrained(_dir.Path);
        Assert.Equal((TextTokenizerKind.SentencePieceBpe, 512, 1, 2, 0), (tokenizer.Kind, tokenizer.VocabSize, tokenizer.BosId!.Value, tokenizer.EosId!.Value, tokenizer.UnkId!.Value));

        using var reference = JsonDocument.Parse(File.ReadAllText(SharedDataPath.Of("models", "stories260K", "greedy_reference.json")));
        int[] ids = [.. reference.RootElement.GetProperty("generated_ids").EnumerateArray().Select(e => e.GetInt32())];
        string text = reference.RootElement.GetProperty("decoded_text").GetString()!;
        // The reference text runs one character past its 110 ids: the "'" that begins the golden sample's 111th
        // token. llama2.c's own decode of the ids (checked independently) ends at "I", as ours does.
        Assert.Equal("'", text[^1..]);
        string decoded = tokenizer.Decode([1, .. ids]);
        Assert.Equal(text[..^1], decoded);
        Assert.Equal([1, .. ids], tokenizer.Encode(decoded, addBos: true));
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text, addBos: true)));
    }

    [Fact]
    public void MismatchedTokenizerIsRejected()
    {
        var e = Assert.Throws<InvalidDataException>(() => Llama2cConverter.ConvertToHf(V0, SharedDataPath.Of("tokenizers", "llama2", "tokenizer.bin"), _dir.Path));
        Assert.Contains("32000", e.Message);
        Assert.Contains("512", e.Message);
    }
}
