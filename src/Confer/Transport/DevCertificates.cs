using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confer.Runtime;

namespace Confer.Transport;

/// <summary>
/// A private certificate authority and one server certificate for a Confer deployment (<c>confer certs</c>). Clients
/// trust only <see cref="CaCertificateFile"/>, so the server needs no public CA and the operator needs no OpenSSL
/// recipe; the CA key signs nothing else and never has to leave the operator's machine.
/// </summary>
internal static class DevCertificates
{
    public const string CaCertificateFile = "ca.crt";
    public const string CaKeyFile = "ca.key";
    public const string ServerCertificateFile = "server.crt";
    public const string ServerKeyFile = "server.key";

    private static readonly string[] AllFiles = [CaCertificateFile, CaKeyFile, ServerCertificateFile, ServerKeyFile];

    /// <summary>
    /// Writes the four PEM files into <paramref name="folder"/>. The server certificate names every host in
    /// <paramref name="hosts"/> (IP literals as IP addresses, the rest as DNS names) plus <c>localhost</c>; nothing
    /// else, so a client reaching the server by an unlisted name or address fails the TLS name check.
    /// </summary>
    public static void Create(string folder, IReadOnlyList<string> hosts, int validDays = 365, bool overwrite = false)
    {
        if (validDays < 1) throw new ArgumentException($"Certificates must be valid for at least 1 day (got {validDays}).", nameof(validDays));
        var san = SubjectAlternativeNames(hosts, out var commonName);
        // Check every file before writing any, so a refusal leaves the folder as it was.
        if (!overwrite)
            foreach (var name in AllFiles)
                if (File.Exists(Path.Combine(folder, name)))
                    throw new IOException($"'{Path.Combine(folder, name)}' already exists; pass --force to replace the certificates " +
                                          "(clients must then be given the new ca.crt).");

        // A few minutes of back-dating so a client whose clock is slightly behind does not reject a fresh certificate.
        var notBefore = DateTimeOffset.UtcNow.AddMinutes(-5);
        var notAfter = DateTimeOffset.UtcNow.AddDays(validDays);

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN=Confer dev CA ({Environment.MachineName}), O=Confer", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, critical: false));
        using var ca = caRequest.Create(caRequest.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), notBefore, notAfter, SerialNumber());

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest($"CN={commonName}, O=Confer", serverKey, HashAlgorithmName.SHA256);
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], critical: false));
        serverRequest.CertificateExtensions.Add(san);
        serverRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(serverRequest.PublicKey, critical: false));
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        using var server = serverRequest.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), notBefore, notAfter, SerialNumber());

        // Keys first: should a write fail midway, the folder holds no certificate whose key is missing.
        WriteKey(Path.Combine(folder, CaKeyFile), caKey.ExportPkcs8PrivateKeyPem());
        WriteKey(Path.Combine(folder, ServerKeyFile), serverKey.ExportPkcs8PrivateKeyPem());
        AtomicFile.WriteAllText(Path.Combine(folder, CaCertificateFile), ca.ExportCertificatePem() + "\n");
        AtomicFile.WriteAllText(Path.Combine(folder, ServerCertificateFile), server.ExportCertificatePem() + "\n");
    }

    private static X509Extension SubjectAlternativeNames(IReadOnlyList<string> hosts, out string commonName)
    {
        var builder = new SubjectAlternativeNameBuilder();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        commonName = "localhost";
        foreach (var raw in hosts.Append("localhost"))
        {
            var host = raw.Trim();
            if (!seen.Add(host)) continue;
            if (seen.Count == 1) commonName = host;
            if (IPAddress.TryParse(host, out var ip)) builder.AddIpAddress(ip);
            else if (Uri.CheckHostName(host) == UriHostNameType.Dns) builder.AddDnsName(host);
            else throw new ArgumentException($"--host '{raw}' is neither a DNS name nor an IP address.", nameof(hosts));
        }
        return builder.Build(critical: false);
    }

    /// <summary>A random positive 128-bit serial: RFC 5280 wants it unique per CA, and randomness makes that so without state.</summary>
    private static byte[] SerialNumber()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x40); // positive, and exactly 16 bytes in DER (no leading zero to strip)
        return serial;
    }

    /// <summary>The key file is created owner-only (0600) before any key byte is written, so no other user can ever read it.</summary>
    private static void WriteKey(string path, string pem)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(pem + "\n");
        AtomicFile.Write(path, s => s.Write(bytes), UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}
