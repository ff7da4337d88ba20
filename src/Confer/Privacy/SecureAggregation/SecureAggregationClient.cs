using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Confer.Federation;
using Confer.Federation.Updates;
using Confer.Models;
using Confer.Privacy.DifferentialPrivacy;
using static Confer.Privacy.SecureAggregation.SecAggMessages;
using static TorchSharp.torch;

namespace Confer.Privacy.SecureAggregation;

/// <summary>
/// A client's side of secure aggregation (Bonawitz et al., CCS 2017, in the simplified variant of algorithms.md §7.3),
/// stateful across one session's four tasks: AdvertiseKeys (two fresh P-256 key pairs), ShareKeys (Shamir shares of
/// the self-mask seed b_u and of the mask key s_u, threshold t, one encrypted message per peer), MaskedInput (the
/// fixed-point update plus PRG(b_u) plus the antisymmetric pairwise masks with every peer that shared keys) and Unmask
/// (b shares of survivors, s shares of dropped peers). It refuses anything that could let the server unmask a single
/// input: a threshold of half the clients or less, a second Unmask, a survivor set other than the one it masked for,
/// or a request it never sent masked input for.
/// </summary>
public sealed class SecureAggregationClient(string clientId) : IDisposable
{
    private Session? _session;

    /// <summary>Runs a set-up step (advertise keys, share keys, unmask) and returns the reply; the caller owns it.</summary>
    /// <exception cref="InvalidDataException">The task is malformed or out of order; nothing is revealed.</exception>
    public ClientUpdate Setup(ClientTask task)
    {
        if (task.ClientId != clientId) throw new InvalidDataException($"a secure-aggregation task for '{task.ClientId}' reached client '{clientId}'.");
        var tensors = Step(task) switch
        {
            AdvertiseKeys => Advertise(task),
            ShareKeys => Share(task),
            Unmask => Reveal(task),
            var other => throw new InvalidDataException($"'{StepKey}' is '{other}', not a set-up step."),
        };
        return new ClientUpdate(clientId, tensors, 0, new Dictionary<string, double>());
    }

    /// <summary>
    /// MaskedInput: turns the encoded update into y_u = Q(w·Δ) + PRG(b_u) ± PRG(s_uv) and returns the reply carrying
    /// only y_u (and the plaintext training metrics). Does not dispose <paramref name="encoded"/>.
    /// </summary>
    public ClientUpdate Mask(ClientUpdate encoded, ClientTask task)
    {
        var s = Current(task, Stage.SharedKeys);
        var survivors = Members(Require(task, SurvivorsKey), s.Ids.Count, SurvivorsKey);
        if (!survivors[s.Me]) throw new InvalidDataException("the survivor set of this session does not include this client.");
        if (survivors.Count(m => m) < s.Threshold) throw new InvalidDataException($"fewer than the threshold {s.Threshold} clients shared keys.");
        var fixedPoint = new FixedPoint(double.Parse(Require(task, ClipRangeKey), CultureInfo.InvariantCulture), uint.Parse(Require(task, TargetRangeKey), CultureInfo.InvariantCulture));
        if ((ulong)fixedPoint.TargetRange * (ulong)s.Ids.Count > uint.MaxValue)
            throw new InvalidDataException($"target range {fixedPoint.TargetRange} for {s.Ids.Count} clients would overflow the 32-bit sum.");
        var (weight, scale) = Weight(task, encoded.NumExamples);

        uint[] words;
        long clamped;
        using (var delta = UpdateSpace.Delta(UpdateSpace.FormOf(task), encoded.Adapter, task))
        using (var scope = NewDisposeScope())
        {
            var flat = delta.Count == 0 ? zeros(0) : cat([.. delta.Select(kv => kv.Value.flatten())], 0);
            (words, clamped) = fixedPoint.Encode(flat.mul(scale));
        }
        var y = new uint[CountWords + words.Length];
        y[0] = weight;
        y[1] = encoded.Metrics.TryGetValue(DpController.UnclippedMetric, out var bit) && bit >= 0.5 ? 1u : 0u;
        words.CopyTo(y, CountWords);
        MaskStream.Apply(s.SelfMask, y, subtract: false);
        for (var v = 0; v < s.Ids.Count; v++)
        {
            if (v == s.Me || !survivors[v]) continue;
            // Antisymmetric: u adds the pair's mask when v < u and subtracts it when v > u, so each pair cancels in the sum.
            MaskStream.Apply(s.MaskKey.Agree(s.MaskKeys[v], MaskLabel(s.Id)), y, subtract: v > s.Me);
        }
        s.Survivors = survivors;
        s.Stage = Stage.Masked;
        var metrics = encoded.Metrics.Where(m => m.Key != DpController.UnclippedMetric).ToDictionary(StringComparer.Ordinal);
        if (clamped > 0) metrics["secagg/clamped"] = clamped;
        var reply = new NamedTensors();
        reply.Add(Masked, WordTensor(y));
        return new ClientUpdate(clientId, reply, 0, metrics);
    }

    /// <summary>(w_k, the factor that puts w_k·Δ_k into the fixed-point range): examples / cap, or 1 for a uniform mean.</summary>
    private static (uint Weight, double Scale) Weight(ClientTask task, long examples)
    {
        var spec = Require(task, WeightKey);
        if (spec == "uniform") return (1, 1);
        if (!spec.StartsWith("examples/", StringComparison.Ordinal) || !int.TryParse(spec["examples/".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var cap) || cap < 1)
            throw new InvalidDataException($"'{WeightKey}' is '{spec}', not 'uniform' or 'examples/<cap>'.");
        if (examples < 1 || examples > cap) throw new InvalidDataException($"{examples} training examples is outside 1..{cap}, the run's max_client_records.");
        return ((uint)examples, (double)examples / cap);
    }

    private NamedTensors Advertise(ClientTask task)
    {
        _session?.Dispose();
        _session = null;
        var session = new Session(Require(task, SessionKey), task.Round, AgreementKey.Create(), AgreementKey.Create());
        _session = session;
        var reply = new NamedTensors();
        reply.Add(CipherKey, ByteTensor(session.CipherKey.PublicKey));
        reply.Add(MaskKey, ByteTensor(session.MaskKey.PublicKey));
        return reply;
    }

    private NamedTensors Share(ClientTask task)
    {
        var s = Current(task, Stage.Advertised);
        var ids = Encoding.UTF8.GetString(Bytes(Get(task.Adapter, Ids), Ids)).Split('\n');
        var n = ids.Length;
        if (ids.Distinct(StringComparer.Ordinal).Count() != n || !ids.SequenceEqual(ids.Order(StringComparer.Ordinal), StringComparer.Ordinal))
            throw new InvalidDataException("the client list of the session is not distinct and ordered.");
        var me = Array.IndexOf(ids, clientId);
        if (me < 0) throw new InvalidDataException("the client list of the session does not include this client.");
        var cipherKeys = Rows(Get(task.Adapter, CipherKey), CipherKey, n);
        var maskKeys = Rows(Get(task.Adapter, MaskKey), MaskKey, n);
        if (!cipherKeys[me].SequenceEqual(s.CipherKey.PublicKey) || !maskKeys[me].SequenceEqual(s.MaskKey.PublicKey))
            throw new InvalidDataException("the session lists other public keys for this client than it advertised.");
        var threshold = RequireInt(task, ThresholdKey);
        // Over half: a server that told some clients u survived and others that u dropped still could not collect
        // t shares of both b_u and s_u, because every client reveals only one of them.
        if (threshold <= n / 2 || threshold > n)
            throw new InvalidDataException($"threshold {threshold} for {n} clients: it must be more than half of them and at most all.");
        s.Ids = ids;
        s.Me = me;
        s.Threshold = threshold;
        s.MaskKeys = maskKeys;
        s.CipherKeys = cipherKeys;
        s.SelfMask = RandomNumberGenerator.GetBytes(MaskStream.SeedBytes);
        var maskKey = s.MaskKey.ExportPrivateKey();
        var bShares = Shamir.Split(Shamir.FromSecretBytes(s.SelfMask), threshold, n);
        var sShares = Shamir.Split(Shamir.FromSecretBytes(maskKey), threshold, n);
        CryptographicOperations.ZeroMemory(maskKey);
        s.OwnShares = (bShares[me], sShares[me]);
        var reply = new NamedTensors();
        for (var v = 0; v < n; v++)
        {
            if (v == me) continue;
            var plain = new byte[SharePlainBytes];
            BinaryPrimitives.WriteInt32LittleEndian(plain, me);
            BinaryPrimitives.WriteInt32LittleEndian(plain.AsSpan(4), v);
            Shamir.ShareToBytes(bShares[v]).CopyTo(plain, 8);
            Shamir.ShareToBytes(sShares[v]).CopyTo(plain, 8 + Shamir.ShareBytes);
            var key = s.CipherKey.Agree(cipherKeys[v], EncryptionLabel(s.Id));
            reply.Add(SharePrefix + v.ToString(CultureInfo.InvariantCulture), ByteTensor(ShareCipher.Encrypt(key, plain, ShareContext(s.Id, me, v))));
            CryptographicOperations.ZeroMemory(plain);
        }
        reply.Add(SelfMaskCommitment, ByteTensor(SHA256.HashData(s.SelfMask)));
        s.Stage = Stage.SharedKeys;
        return reply;
    }

    private NamedTensors Reveal(ClientTask task)
    {
        var s = Current(task, Stage.Masked);
        var n = s.Ids.Count;
        var survivors = Members(Require(task, SurvivorsKey), n, SurvivorsKey);
        var masked = Members(Require(task, MaskedKey), n, MaskedKey);
        if (!survivors.SequenceEqual(s.Survivors!)) throw new InvalidDataException("the survivor set differs from the one this client masked its input for.");
        if (!masked[s.Me]) throw new InvalidDataException("the unmasking set does not include this client, which sent its masked input.");
        if (Enumerable.Range(0, n).Any(u => masked[u] && !survivors[u])) throw new InvalidDataException("the unmasking set names a client that never shared keys.");
        if (masked.Count(m => m) < s.Threshold) throw new InvalidDataException($"fewer than the threshold {s.Threshold} clients sent masked input.");
        // From here on this session reveals nothing more, whatever the server asks.
        s.Stage = Stage.Unmasked;
        var reply = new NamedTensors();
        for (var u = 0; u < n; u++)
        {
            if (!survivors[u]) continue;
            var (bShare, sShare) = u == s.Me ? s.OwnShares : Open(task, s, u);
            // Exactly one of the two per peer: b_u for a client in the sum, s_u for one that dropped after sharing keys.
            reply.Add((masked[u] ? SelfMaskSharePrefix : KeySharePrefix) + u.ToString(CultureInfo.InvariantCulture), ByteTensor(Shamir.ShareToBytes(masked[u] ? bShare : sShare)));
        }
        _session = null;
        s.Dispose();
        return reply;
    }

    private static (System.Numerics.BigInteger B, System.Numerics.BigInteger S) Open(ClientTask task, Session s, int from)
    {
        var name = InboxPrefix + from.ToString(CultureInfo.InvariantCulture);
        var cipher = Bytes(Get(task.Adapter, name), name);
        var key = s.CipherKey.Agree(s.CipherKeys[from], EncryptionLabel(s.Id));
        var plain = ShareCipher.Decrypt(key, cipher, ShareContext(s.Id, from, s.Me));
        if (plain.Length != SharePlainBytes || BinaryPrimitives.ReadInt32LittleEndian(plain) != from || BinaryPrimitives.ReadInt32LittleEndian(plain.AsSpan(4)) != s.Me)
            throw new InvalidDataException($"the share message from client {from} is not addressed from it to this client.");
        return (Shamir.ShareFromBytes(plain.AsSpan(8, Shamir.ShareBytes)), Shamir.ShareFromBytes(plain.AsSpan(8 + Shamir.ShareBytes, Shamir.ShareBytes)));
    }

    private static byte[][] Rows(Tensor t, string name, int count)
    {
        if (t.dtype != ScalarType.Byte || t.dim() != 2 || t.shape[0] != count || t.shape[1] != AgreementKey.PublicKeyBytes)
            throw new InvalidDataException($"'{name}' must be a uint8 tensor [{count}, {AgreementKey.PublicKeyBytes}].");
        var all = t.contiguous().bytes.ToArray();
        return [.. Enumerable.Range(0, count).Select(i => all[(i * AgreementKey.PublicKeyBytes)..((i + 1) * AgreementKey.PublicKeyBytes)])];
    }

    private Session Current(ClientTask task, Stage expected)
    {
        var id = Require(task, SessionKey);
        if (_session is not { } s || s.Id != id || s.Round != task.Round)
            throw new InvalidDataException($"secure-aggregation session '{id}' of round {task.Round} is not this client's current session (it may have restarted); the step is refused.");
        if (s.Stage != expected)
            throw new InvalidDataException($"step '{Step(task)}' arrived while the session is at '{s.Stage}'; steps must come in order, once each.");
        return s;
    }

    public void Dispose()
    {
        _session?.Dispose();
        _session = null;
    }

    private enum Stage
    {
        Advertised,
        SharedKeys,
        Masked,
        Unmasked,
    }

    private sealed class Session(string id, int round, AgreementKey cipherKey, AgreementKey maskKey) : IDisposable
    {
        public string Id { get; } = id;
        public int Round { get; } = round;
        public AgreementKey CipherKey { get; } = cipherKey;
        public AgreementKey MaskKey { get; } = maskKey;
        public Stage Stage { get; set; } = Stage.Advertised;
        public IReadOnlyList<string> Ids { get; set; } = [];
        public int Me { get; set; }
        public int Threshold { get; set; }
        public byte[][] CipherKeys { get; set; } = [];
        public byte[][] MaskKeys { get; set; } = [];
        public byte[] SelfMask { get; set; } = [];
        public (System.Numerics.BigInteger B, System.Numerics.BigInteger S) OwnShares { get; set; }
        public bool[]? Survivors { get; set; }

        public void Dispose()
        {
            CipherKey.Dispose();
            MaskKey.Dispose();
            CryptographicOperations.ZeroMemory(SelfMask);
        }
    }
}
