using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Confer.Federation.Deployment;

/// <summary>
/// Client ids and bearer tokens. A token is 32 random bytes in base64url behind a <c>cft_</c> prefix (so a leaked one
/// is recognisable in logs and secret scanners); the server keeps only its SHA-256. An unsalted hash is enough here:
/// the secret has 256 bits of entropy, so there is nothing to brute-force, and a plain hash lets the store find the
/// client by an indexed lookup instead of comparing against every stored hash.
/// </summary>
internal static partial class ClientToken
{
    public const string Prefix = "cft_";

    public static string New() => Prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>Client ids appear in file names, logs and metric keys, so they are kept to a safe, short alphabet.</summary>
    public static void ValidateId(string clientId)
    {
        if (!IdPattern().IsMatch(clientId))
            throw new ArgumentException($"Client id '{clientId}' is not valid: use 1–64 characters, letters, digits, '_', '.' or '-', " +
                                        "starting with a letter or digit (e.g. hospital-3).");
    }

    // \z, not $: $ would also accept a trailing newline.
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\z")]
    private static partial Regex IdPattern();
}
