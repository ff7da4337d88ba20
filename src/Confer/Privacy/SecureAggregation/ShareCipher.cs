using System.Security.Cryptography;
using System.Text;

namespace Confer.Privacy.SecureAggregation;

/// <summary>
/// Authenticated encryption of the key shares one client sends another through the server: AES-256-GCM under the
/// pair's agreed key, a random 96-bit nonce in front, the 128-bit tag behind, and the session and both parties bound
/// as associated data, so the server can neither read a share nor move it to another pair or session.
/// </summary>
public static class ShareCipher
{
    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    /// <summary>Ciphertext bytes for <paramref name="plainLength"/> plaintext bytes.</summary>
    public static int CipherLength(int plainLength) => NonceBytes + plainLength + TagBytes;

    public static byte[] Encrypt(byte[] key, ReadOnlySpan<byte> plain, string associated)
    {
        var output = new byte[CipherLength(plain.Length)];
        var nonce = output.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var gcm = new AesGcm(key, TagBytes);
        gcm.Encrypt(nonce, plain, output.AsSpan(NonceBytes, plain.Length), output.AsSpan(NonceBytes + plain.Length), Encoding.UTF8.GetBytes(associated));
        return output;
    }

    /// <exception cref="InvalidDataException">The ciphertext was altered, is for another pair or session, or has the wrong size.</exception>
    public static byte[] Decrypt(byte[] key, ReadOnlySpan<byte> cipher, string associated)
    {
        if (cipher.Length < NonceBytes + TagBytes) throw new InvalidDataException("an encrypted share is too short.");
        var plain = new byte[cipher.Length - NonceBytes - TagBytes];
        using var gcm = new AesGcm(key, TagBytes);
        try
        {
            gcm.Decrypt(cipher[..NonceBytes], cipher.Slice(NonceBytes, plain.Length), cipher[(NonceBytes + plain.Length)..], plain, Encoding.UTF8.GetBytes(associated));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new InvalidDataException("an encrypted share fails authentication: it was altered, or is not addressed to this client in this session.");
        }
        return plain;
    }
}
