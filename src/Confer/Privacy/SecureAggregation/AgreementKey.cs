using System.Security.Cryptography;
using System.Text;

namespace Confer.Privacy.SecureAggregation;

/// <summary>
/// One party's P-256 ECDH key pair (X25519, the curve of Bonawitz et al. and Flower, is not in the .NET 10 BCL). Two
/// parties that exchange public keys derive the same 32-byte key: HKDF-SHA256 over the raw shared x-coordinate, with
/// an <c>info</c> label that separates uses (share encryption, masks) and sessions. Public keys travel as the 65-byte
/// uncompressed point; a peer's point is checked to lie on the curve before it is used.
/// </summary>
public sealed class AgreementKey : IDisposable
{
    public const int PublicKeyBytes = 65;
    public const int PrivateKeyBytes = 32;
    private readonly ECDiffieHellman _key;

    private AgreementKey(ECDiffieHellman key)
    {
        _key = key;
        var p = key.ExportParameters(includePrivateParameters: false);
        PublicKey = [0x04, .. p.Q.X!, .. p.Q.Y!];
    }

    /// <summary>The uncompressed public point 0x04 ‖ X ‖ Y.</summary>
    public byte[] PublicKey { get; }

    /// <summary>A fresh key pair from the system's cryptographic generator.</summary>
    public static AgreementKey Create() => new(ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>The key pair of a reconstructed private scalar; its public point must match <paramref name="publicKey"/>.</summary>
    /// <exception cref="InvalidDataException">The scalar does not belong to that public key (a wrong reconstruction).</exception>
    public static AgreementKey FromPrivateKey(ReadOnlySpan<byte> privateKey, byte[] publicKey)
    {
        var (x, y) = Point(publicKey);
        var ecdh = ECDiffieHellman.Create();
        AgreementKey key;
        try
        {
            ecdh.ImportParameters(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = privateKey.ToArray(), Q = new ECPoint { X = x, Y = y } });
            key = new AgreementKey(ecdh);
        }
        catch (CryptographicException e)
        {
            ecdh.Dispose();
            throw new InvalidDataException($"the reconstructed private key does not match its advertised public key ({e.Message}).");
        }
        // Whether the import checked D against Q depends on the crypto backend; an agreement with a fresh key settles it:
        // D·(kG) = k·Q holds only when Q = D·G.
        using var probe = Create();
        if (!key.Agree(probe.PublicKey, "confer/check").AsSpan().SequenceEqual(probe.Agree(publicKey, "confer/check")))
        {
            key.Dispose();
            throw new InvalidDataException("the reconstructed private key does not match its advertised public key.");
        }
        return key;
    }

    /// <summary>The private scalar D (32 bytes), which secure aggregation secret-shares.</summary>
    public byte[] ExportPrivateKey()
    {
        var d = _key.ExportParameters(includePrivateParameters: true).D!;
        if (d.Length == PrivateKeyBytes) return d;
        var padded = new byte[PrivateKeyBytes];
        d.CopyTo(padded, PrivateKeyBytes - d.Length);
        return padded;
    }

    /// <summary>HKDF-SHA256(ECDH(this, peer), info) — the same bytes on both sides.</summary>
    /// <exception cref="InvalidDataException"><paramref name="peerPublicKey"/> is not a valid P-256 point.</exception>
    public byte[] Agree(byte[] peerPublicKey, string info)
    {
        using var peer = ImportPublic(peerPublicKey);
        var shared = _key.DeriveRawSecretAgreement(peer.PublicKey);
        try
        {
            return HKDF.DeriveKey(HashAlgorithmName.SHA256, shared, 32, salt: [], info: Encoding.UTF8.GetBytes(info));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shared);
        }
    }

    /// <summary>Throws <see cref="InvalidDataException"/> unless <paramref name="publicKey"/> is a P-256 point.</summary>
    public static void Validate(byte[] publicKey)
    {
        using var _ = ImportPublic(publicKey);
    }

    private static ECDiffieHellman ImportPublic(byte[] publicKey)
    {
        var (x, y) = Point(publicKey);
        var ecdh = ECDiffieHellman.Create();
        try
        {
            ecdh.ImportParameters(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = x, Y = y } });
            return ecdh;
        }
        catch (CryptographicException e)
        {
            ecdh.Dispose();
            throw new InvalidDataException($"a public key is not a point on P-256 ({e.Message}).");
        }
    }

    private static (byte[] X, byte[] Y) Point(byte[] publicKey)
    {
        if (publicKey.Length != PublicKeyBytes || publicKey[0] != 0x04)
            throw new InvalidDataException($"a public key must be a {PublicKeyBytes}-byte uncompressed P-256 point.");
        return (publicKey[1..33], publicKey[33..]);
    }

    public void Dispose() => _key.Dispose();
}
