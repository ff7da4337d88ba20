using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using Confer.Models;
using static Confer.Privacy.SecureAggregation.SecAggMessages;
using static TorchSharp.torch;

namespace Confer.Privacy.SecureAggregation;

/// <summary>
/// The server's side of one secure-aggregation session: it relays public keys and encrypted shares it cannot read,
/// keeps a running modular sum of the masked inputs (never an individual input in the clear), and at the end
/// reconstructs the self-mask seeds of the clients in the sum and the mask keys of the clients that dropped after
/// sharing keys, removes those masks and returns Σ Q(x_u) over the clients whose input arrived. Too few shares for any
/// secret, or a share that contradicts the others or the client's commitment, makes <see cref="Unmask"/> throw rather
/// than return a wrong sum. Not thread-safe: the protocol feeds it on one thread after each exchange.
/// </summary>
public sealed class SecureAggregationServer(string session, int threshold)
{
    private string[] _ids = [];
    private byte[][] _cipherKeys = [];
    private byte[][] _maskKeys = [];
    private byte[][][] _ciphertexts = [];
    private byte[][] _commitments = [];
    private bool[] _survivors = [];
    private bool[] _masked = [];
    private uint[]? _sum;
    private readonly Dictionary<int, List<(int X, BigInteger Y)>> _selfMaskShares = [];
    private readonly Dictionary<int, List<(int X, BigInteger Y)>> _keyShares = [];

    public string Session { get; } = session;

    public int Threshold { get; } = threshold;

    /// <summary>U1: clients that advertised keys, in ascending ordinal order (their index is their number in the session).</summary>
    public IReadOnlyList<string> Participants => _ids;

    /// <summary>U2: clients that shared keys.</summary>
    public IReadOnlyList<string> Survivors => Select(_survivors);

    /// <summary>U3: clients whose masked input is in the sum.</summary>
    public IReadOnlyList<string> Contributors => Select(_masked);

    public string SurvivorBitmap => Bitmap(_survivors);

    public string ContributorBitmap => Bitmap(_masked);

    /// <summary>Checks an AdvertiseKeys reply: exactly two valid P-256 public keys.</summary>
    public static void CheckKeys(NamedTensors reply)
    {
        Only(reply, [CipherKey, MaskKey]);
        AgreementKey.Validate(Bytes(reply[CipherKey], CipherKey, AgreementKey.PublicKeyBytes));
        AgreementKey.Validate(Bytes(reply[MaskKey], MaskKey, AgreementKey.PublicKeyBytes));
    }

    /// <summary>Fixes U1 from the admitted AdvertiseKeys replies.</summary>
    public void SetParticipants(IReadOnlyDictionary<string, NamedTensors> keys)
    {
        _ids = [.. keys.Keys.Order(StringComparer.Ordinal)];
        _cipherKeys = [.. _ids.Select(id => Bytes(keys[id][CipherKey], CipherKey))];
        _maskKeys = [.. _ids.Select(id => Bytes(keys[id][MaskKey], MaskKey))];
        _ciphertexts = new byte[_ids.Length][][];
        _commitments = new byte[_ids.Length][];
        _survivors = new bool[_ids.Length];
        _masked = new bool[_ids.Length];
    }

    /// <summary>What every ShareKeys task carries: U1's ids and both public keys of each (the caller owns the tensors).</summary>
    public NamedTensors KeyDirectory()
    {
        var directory = new NamedTensors();
        directory.Add(Ids, ByteTensor(Encoding.UTF8.GetBytes(string.Join('\n', _ids))));
        directory.Add(CipherKey, tensor(_cipherKeys.SelectMany(k => k).ToArray(), ScalarType.Byte).reshape(_ids.Length, AgreementKey.PublicKeyBytes));
        directory.Add(MaskKey, tensor(_maskKeys.SelectMany(k => k).ToArray(), ScalarType.Byte).reshape(_ids.Length, AgreementKey.PublicKeyBytes));
        return directory;
    }

    /// <summary>Checks a ShareKeys reply from <paramref name="clientId"/>: one share message per other participant and a commitment.</summary>
    public void CheckShares(string clientId, NamedTensors reply)
    {
        var me = Index(clientId);
        var expected = Enumerable.Range(0, _ids.Length).Where(v => v != me).Select(v => SharePrefix + v.ToString(CultureInfo.InvariantCulture)).Append(SelfMaskCommitment);
        Only(reply, [.. expected]);
        foreach (var (name, t) in reply)
            Bytes(t, name, name == SelfMaskCommitment ? SHA256.HashSizeInBytes : ShareCipher.CipherLength(SharePlainBytes));
    }

    /// <summary>Stores the admitted ShareKeys replies; their senders form U2.</summary>
    public void AddShares(IReadOnlyDictionary<string, NamedTensors> replies)
    {
        foreach (var (id, reply) in replies)
        {
            var u = Index(id);
            _ciphertexts[u] = [.. Enumerable.Range(0, _ids.Length).Select(v => v == u ? [] : Bytes(reply[SharePrefix + v.ToString(CultureInfo.InvariantCulture)], SharePrefix))];
            _commitments[u] = Bytes(reply[SelfMaskCommitment], SelfMaskCommitment);
            _survivors[u] = true;
        }
    }

    /// <summary>Checks a MaskedInput reply: one int32 vector of <paramref name="length"/> words.</summary>
    public static void CheckMasked(NamedTensors reply, long length)
    {
        Only(reply, [Masked]);
        Words(reply[Masked], Masked, length);
    }

    /// <summary>Adds an admitted masked input y_u to the running sum; its sender joins U3.</summary>
    public void AddMasked(string clientId, NamedTensors reply)
    {
        var u = Index(clientId);
        if (!_survivors[u]) throw new InvalidOperationException($"client '{clientId}' sent masked input without having shared keys.");
        if (_masked[u]) throw new InvalidOperationException($"client '{clientId}' sent masked input twice.");
        var y = Words(reply[Masked], Masked, reply[Masked].shape[0]);
        if (_sum is null) _sum = y;
        else
        {
            if (y.Length != _sum.Length) throw new InvalidOperationException("masked inputs differ in length.");
            System.Numerics.Tensors.TensorPrimitives.Add(_sum, y, _sum);
        }
        _masked[u] = true;
    }

    /// <summary>The Unmask task's tensors for <paramref name="clientId"/>: every share message addressed to it by a client in U2.</summary>
    public NamedTensors Inbox(string clientId)
    {
        var v = Index(clientId);
        var inbox = new NamedTensors();
        for (var u = 0; u < _ids.Length; u++)
            if (u != v && _survivors[u]) inbox.Add(InboxPrefix + u.ToString(CultureInfo.InvariantCulture), ByteTensor(_ciphertexts[u][v]));
        return inbox;
    }

    /// <summary>Checks an Unmask reply: a b share for each client in U3 and an s share for each in U2 \ U3, nothing else.</summary>
    public void CheckReveal(NamedTensors reply)
    {
        var expected = Enumerable.Range(0, _ids.Length).Where(u => _survivors[u])
            .Select(u => (_masked[u] ? SelfMaskSharePrefix : KeySharePrefix) + u.ToString(CultureInfo.InvariantCulture));
        Only(reply, [.. expected]);
        foreach (var (name, t) in reply) Bytes(t, name, Shamir.ShareBytes);
    }

    /// <summary>Stores the shares an admitted Unmask reply from <paramref name="clientId"/> reveals (its x is its index + 1).</summary>
    public void AddReveal(string clientId, NamedTensors reply)
    {
        var x = Index(clientId) + 1;
        foreach (var (name, t) in reply)
        {
            var isSelfMask = name.StartsWith(SelfMaskSharePrefix, StringComparison.Ordinal);
            var u = int.Parse(name[(isSelfMask ? SelfMaskSharePrefix : KeySharePrefix).Length..], CultureInfo.InvariantCulture);
            var shares = isSelfMask ? _selfMaskShares : _keyShares;
            if (!shares.TryGetValue(u, out var list)) shares[u] = list = [];
            list.Add((x, Shamir.ShareFromBytes(Bytes(t, name, Shamir.ShareBytes))));
        }
    }

    /// <summary>
    /// Σ_{u∈U3} Q(x_u) mod 2^32: the running sum minus every contributor's self-mask and minus the pairwise masks the
    /// contributors shared with clients that dropped after sharing keys.
    /// </summary>
    /// <exception cref="InvalidDataException">A secret lacks <see cref="Threshold"/> shares, or a reconstruction is inconsistent.</exception>
    public uint[] Unmask()
    {
        var sum = (uint[])(_sum ?? throw new InvalidOperationException("No masked input arrived."));
        for (var u = 0; u < _ids.Length; u++)
        {
            if (_masked[u])
            {
                var seed = Shamir.ToSecretBytes(Reconstruct(_selfMaskShares, u, "self-mask seed"));
                if (!SHA256.HashData(seed).AsSpan().SequenceEqual(_commitments[u]))
                    throw new InvalidDataException($"the self-mask seed reconstructed for '{_ids[u]}' does not match its commitment: a share is corrupted.");
                MaskStream.Apply(seed, sum, subtract: true);
            }
            else if (_survivors[u])
            {
                var secret = Shamir.ToSecretBytes(Reconstruct(_keyShares, u, "mask key"));
                using var key = AgreementKey.FromPrivateKey(secret, _maskKeys[u]);
                CryptographicOperations.ZeroMemory(secret);
                for (var v = 0; v < _ids.Length; v++)
                {
                    if (!_masked[v]) continue;
                    // y_v holds +PRG(s_vu) when u < v and −PRG(s_vu) when u > v; undo it.
                    MaskStream.Apply(key.Agree(_maskKeys[v], MaskLabel(Session)), sum, subtract: u < v);
                }
            }
        }
        return sum;
    }

    private BigInteger Reconstruct(Dictionary<int, List<(int X, BigInteger Y)>> shares, int u, string what)
    {
        var list = shares.GetValueOrDefault(u) ?? [];
        try
        {
            return Shamir.Reconstruct(list, Threshold);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"cannot reconstruct the {what} of '{_ids[u]}': {e.Message}", e);
        }
    }

    private int Index(string clientId)
    {
        var i = Array.IndexOf(_ids, clientId);
        return i >= 0 ? i : throw new InvalidOperationException($"client '{clientId}' is not a participant of session {Session}.");
    }

    private string[] Select(bool[] members) => [.. _ids.Where((_, i) => members[i])];

    /// <summary>Refuses a message whose tensor names are not exactly <paramref name="expected"/>.</summary>
    private static void Only(NamedTensors reply, IReadOnlyCollection<string> expected)
    {
        if (reply.Count != expected.Count || !expected.All(reply.Contains))
            throw new InvalidDataException($"the reply carries [{string.Join(", ", reply.Names.Take(4))}{(reply.Count > 4 ? ", …" : "")}], expected {expected.Count} secure-aggregation tensor(s).");
    }
}
