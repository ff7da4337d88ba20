using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Confer.Federation;
using Confer.Models;
using static TorchSharp.torch;

namespace Confer.Privacy.SecureAggregation;

/// <summary>
/// The vocabulary of secure aggregation's exchanges: the step and parameters a task carries in its
/// <see cref="TaskConfig"/>, and the names of the byte and word tensors that carry keys, encrypted shares, masked
/// vectors and revealed shares in the ordinary tensor frames. Clients are numbered by their position in U1, the
/// clients that advertised keys, in ascending ordinal id order; client sets travel as hex bitmaps over that numbering.
/// </summary>
public static class SecAggMessages
{
    public const string StepKey = "secagg_step";
    public const string SessionKey = "secagg_session";
    public const string ThresholdKey = "secagg_threshold";
    public const string SurvivorsKey = "secagg_u2";
    public const string MaskedKey = "secagg_u3";
    public const string ClipRangeKey = "secagg_clip_range";
    public const string TargetRangeKey = "secagg_target_range";
    public const string WeightKey = "secagg_weight";

    public const string AdvertiseKeys = "advertise_keys";
    public const string ShareKeys = "share_keys";
    public const string MaskedInput = "masked_input";
    public const string Unmask = "unmask";

    public const string CipherKey = "secagg/c_pk";
    public const string MaskKey = "secagg/s_pk";
    public const string Ids = "secagg/ids";
    public const string SelfMaskCommitment = "secagg/b_commit";
    public const string Masked = "secagg/masked";
    public const string SharePrefix = "secagg/share/";
    public const string InboxPrefix = "secagg/inbox/";
    public const string SelfMaskSharePrefix = "secagg/b/";
    public const string KeySharePrefix = "secagg/s/";

    /// <summary>Words in front of the masked values: the weight w_k and the DP "unclipped" bit, summed exactly.</summary>
    public const int CountWords = 2;

    /// <summary>Bytes of a share message's plaintext: sender and receiver index (4 each), the shares of b_u and s_u.</summary>
    public const int SharePlainBytes = 8 + 2 * Shamir.ShareBytes;

    /// <summary>The secure-aggregation step a task asks for, or null for an ordinary task.</summary>
    public static string? Step(ClientTask task) => task.Config.Get(StepKey);

    /// <summary>A uint8 tensor holding <paramref name="bytes"/>.</summary>
    public static Tensor ByteTensor(ReadOnlySpan<byte> bytes) => tensor(bytes.ToArray(), ScalarType.Byte);

    /// <summary>The bytes of a uint8 tensor; <see cref="InvalidDataException"/> for another dtype or length.</summary>
    public static byte[] Bytes(Tensor t, string name, int? length = null)
    {
        if (t.dtype != ScalarType.Byte || t.dim() != 1) throw new InvalidDataException($"'{name}' must be a 1-D uint8 tensor.");
        if (length is { } n && t.shape[0] != n) throw new InvalidDataException($"'{name}' holds {t.shape[0]} bytes, expected {n}.");
        return t.contiguous().bytes.ToArray();
    }

    /// <summary>An int32 tensor carrying the bits of <paramref name="words"/> (TorchSharp has no uint32).</summary>
    public static Tensor WordTensor(uint[] words) => tensor(MemoryMarshal.Cast<uint, int>(words.AsSpan()).ToArray(), ScalarType.Int32);

    /// <summary>The uint32 words of an int32 tensor of <paramref name="length"/> elements.</summary>
    public static uint[] Words(Tensor t, string name, long length)
    {
        if (t.dtype != ScalarType.Int32 || t.dim() != 1 || t.shape[0] != length)
            throw new InvalidDataException($"'{name}' must be a 1-D int32 tensor of {length} words (got {t.dtype} [{string.Join(",", t.shape)}]).");
        return MemoryMarshal.Cast<byte, uint>(t.contiguous().bytes).ToArray();
    }

    /// <summary>A client set over U1's numbering as lowercase hex, 4 clients per digit (client 0 = the highest bit of the first digit).</summary>
    public static string Bitmap(IReadOnlyList<bool> members)
    {
        var text = new StringBuilder((members.Count + 3) / 4);
        for (var i = 0; i < members.Count; i += 4)
        {
            var nibble = 0;
            for (var b = 0; b < 4; b++) nibble = nibble << 1 | (i + b < members.Count && members[i + b] ? 1 : 0);
            text.Append(nibble.ToString("x", CultureInfo.InvariantCulture));
        }
        return text.ToString();
    }

    /// <summary>The set a bitmap of <paramref name="count"/> clients names; <see cref="InvalidDataException"/> when malformed.</summary>
    public static bool[] Members(string? bitmap, int count, string key)
    {
        if (bitmap is null || bitmap.Length != (count + 3) / 4)
            throw new InvalidDataException($"'{key}' must be a bitmap of {count} clients.");
        var members = new bool[count];
        for (var i = 0; i < bitmap.Length; i++)
        {
            var nibble = Convert.ToInt32(bitmap[i].ToString(), 16);
            for (var b = 0; b < 4; b++)
            {
                var set = (nibble >> (3 - b) & 1) == 1;
                var index = i * 4 + b;
                if (index < count) members[index] = set;
                else if (set) throw new InvalidDataException($"'{key}' names a client beyond the {count} that advertised keys.");
            }
        }
        return members;
    }

    /// <summary>The string a task config entry must hold; <see cref="InvalidDataException"/> naming it otherwise.</summary>
    public static string Require(ClientTask task, string key) =>
        task.Config.Get(key) ?? throw new InvalidDataException($"the secure-aggregation task lacks '{key}'.");

    /// <summary>The integer a task config entry must hold.</summary>
    public static int RequireInt(ClientTask task, string key) =>
        int.TryParse(Require(task, key), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : throw new InvalidDataException($"'{key}' is not a non-negative integer.");

    /// <summary>The tensor named <paramref name="name"/>; <see cref="InvalidDataException"/> when absent.</summary>
    public static Tensor Get(NamedTensors? tensors, string name) =>
        tensors is not null && tensors.TryGet(name, out var t) ? t : throw new InvalidDataException($"the message lacks '{name}'.");

    /// <summary>The HKDF label of the key two clients encrypt their shares under.</summary>
    public static string EncryptionLabel(string session) => $"confer/secagg/{session}/enc";

    /// <summary>The HKDF label of the seed of two clients' pairwise mask.</summary>
    public static string MaskLabel(string session) => $"confer/secagg/{session}/mask";

    /// <summary>What binds a share message to its session, sender and receiver.</summary>
    public static string ShareContext(string session, int from, int to) => string.Create(CultureInfo.InvariantCulture, $"{session}|{from}->{to}");
}
