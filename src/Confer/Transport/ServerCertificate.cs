using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Confer.Transport;

/// <summary>
/// The server's TLS certificate from the two PEM files <c>confer certs</c> writes (or any PEM certificate and PKCS#8 /
/// SEC1 / PKCS#1 key), checked up front so a wrong file fails at startup with its name rather than at the first
/// handshake with an opaque TLS alert.
/// </summary>
internal static class ServerCertificate
{
    public static X509Certificate2 Load(string certPemPath, string keyPemPath)
    {
        var certPem = ReadPem(certPemPath, "certificate");
        var keyPem = ReadPem(keyPemPath, "private key");
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(certPem);
        }
        catch (CryptographicException e)
        {
            throw new InvalidDataException($"'{certPemPath}' holds no PEM certificate ({e.Message}).", e);
        }
        using (certificate)
        {
            if (certificate.NotAfter < DateTime.Now)
                throw new InvalidDataException($"The server certificate '{certPemPath}' expired on {certificate.NotAfter:yyyy-MM-dd}; " +
                                               "make new certificates with `confer certs` and give clients the new ca.crt.");
            X509Certificate2 withKey;
            try
            {
                withKey = X509Certificate2.CreateFromPem(certPem, keyPem);
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException) // no key in the file / another key
            {
                throw new InvalidDataException($"'{keyPemPath}' is not the private key of the certificate '{certPemPath}' ({e.Message}); " +
                                               "pass the server.key written together with that server.crt.", e);
            }
            // CreateFromPem leaves the key ephemeral, which Windows' TLS stack (SChannel) cannot use; a PKCS#12 round
            // trip gives a key every platform's SslStream accepts.
            using (withKey)
                return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), password: null);
        }
    }

    private static string ReadPem(string path, string what)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"The server's TLS {what} file '{path}' does not exist; `confer certs` makes one.", path, e);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new InvalidDataException($"The server's TLS {what} file '{path}' cannot be read ({e.Message.TrimEnd('.')}); run the server as a user that may read it, or point tls_key/tls_cert at a readable copy.", e);
        }
    }
}
