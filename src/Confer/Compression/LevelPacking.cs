using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Confer.Compression;

/// <summary>
/// Packs signed quantisation levels into 4 or 2 bits each, lowest element in the lowest bits of a byte. A 4-bit code
/// is q + 8 ∈ [1, 15] (levels ±7) and a 2-bit code q + 1 ∈ [0, 2] (levels ±1), so code 0 (4-bit) and code 3 (2-bit)
/// never occur in a valid message, and the bits after the last element are zero. <see cref="Unpack"/> checks both.
/// </summary>
internal static class LevelPacking
{
    public static int PackedLength(long count, int bits) => checked((int)((count * bits + 7) / 8));

    /// <summary>Packs <paramref name="q"/> (a multiple of 8 values, or the message's last values) into <paramref name="packed"/>.</summary>
    public static void Pack(ReadOnlySpan<sbyte> q, int bits, Span<byte> packed)
    {
        var perByte = 8 / bits;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var qr = ref First(q);
            ref var pr = ref MemoryMarshal.GetReference(packed);
            if (bits == 4)
                for (; i <= q.Length - 64; i += 64)
                {
                    var a = (Vector256.LoadUnsafe(ref qr, (nuint)i) + Vector256.Create((byte)8)).AsUInt16();
                    var b = (Vector256.LoadUnsafe(ref qr, (nuint)(i + 32)) + Vector256.Create((byte)8)).AsUInt16();
                    Vector256.Narrow(Pair(a), Pair(b)).StoreUnsafe(ref pr, (nuint)(i / 2));
                }
            else
                for (; i <= q.Length - 128; i += 128)
                    Vector256.Narrow(Quads(ref qr, i), Quads(ref qr, i + 64)).StoreUnsafe(ref pr, (nuint)(i / 4));
        }
        var offset = bits == 4 ? 8 : 1;
        for (; i < q.Length; i += perByte)
        {
            var value = 0;
            for (var j = 0; j < perByte && i + j < q.Length; j++) value |= (q[i + j] + offset) << (j * bits);
            packed[i / perByte] = (byte)value;
        }
    }

    /// <summary>
    /// Unpacks <paramref name="q"/>.Length levels from <paramref name="packed"/>; false when a code is invalid or, for
    /// the message's last byte (<paramref name="last"/>), a bit after the last element is set.
    /// </summary>
    public static bool Unpack(ReadOnlySpan<byte> packed, int bits, Span<sbyte> q, bool last)
    {
        var perByte = 8 / bits;
        var invalid = (byte)(bits == 4 ? 0 : 3);
        var offset = bits == 4 ? 8 : 1;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var pr = ref MemoryMarshal.GetReference(packed);
            ref var qr = ref First(q);
            var bad = Vector256<byte>.Zero;
            if (bits == 4)
                for (; i <= q.Length - 64; i += 64)
                {
                    var (low, high) = Vector256.Widen(Vector256.LoadUnsafe(ref pr, (nuint)(i / 2)));
                    var a = Split(low).AsByte();
                    var b = Split(high).AsByte();
                    bad |= Vector256.Equals(a, Vector256<byte>.Zero) | Vector256.Equals(b, Vector256<byte>.Zero);
                    (a - Vector256.Create((byte)8)).StoreUnsafe(ref qr, (nuint)i);
                    (b - Vector256.Create((byte)8)).StoreUnsafe(ref qr, (nuint)(i + 32));
                }
            else
                for (; i <= q.Length - 128; i += 128)
                {
                    var (low, high) = Vector256.Widen(Vector256.LoadUnsafe(ref pr, (nuint)(i / 4)));
                    var (a, b) = Vector256.Widen(low);
                    var (c, d) = Vector256.Widen(high);
                    bad |= Codes(a, ref qr, i) | Codes(b, ref qr, i + 32) | Codes(c, ref qr, i + 64) | Codes(d, ref qr, i + 96);
                }
            if (bad != Vector256<byte>.Zero) return false;
        }
        for (; i < q.Length; i += perByte)
        {
            int value = packed[i / perByte];
            for (var j = 0; j < perByte; j++)
            {
                var code = (value >> (j * bits)) & ((1 << bits) - 1);
                if (i + j >= q.Length)
                {
                    if (last && code != 0) return false;
                    continue;
                }
                if (code == invalid) return false;
                q[i + j] = (sbyte)(code - offset);
            }
        }
        return true;
    }

    /// <summary>64 levels from <paramref name="i"/> → 16 lanes, each holding the byte of four 2-bit codes.</summary>
    private static Vector256<ushort> Quads(ref byte q, int i)
    {
        var a = (Vector256.LoadUnsafe(ref q, (nuint)i) + Vector256<byte>.One).AsUInt32();
        var b = (Vector256.LoadUnsafe(ref q, (nuint)(i + 32)) + Vector256<byte>.One).AsUInt32();
        return Vector256.Narrow(Quad(a), Quad(b));
    }

    /// <summary>Eight packed 2-bit bytes (one per 32-bit lane) → 32 levels stored at <paramref name="i"/>; lanes holding the invalid code 3 are set in the result.</summary>
    private static Vector256<byte> Codes(Vector256<uint> packed, ref byte q, int i)
    {
        var codes = Spread(packed).AsByte();
        (codes - Vector256<byte>.One).StoreUnsafe(ref q, (nuint)i);
        return Vector256.Equals(codes, Vector256.Create((byte)3));
    }

    /// <summary>Each 16-bit lane (two codes) → one byte: low code in bits 0–3, high code in bits 4–7.</summary>
    private static Vector256<ushort> Pair(Vector256<ushort> w) => (w & Vector256.Create((ushort)0x000F)) | ((w >> 4) & Vector256.Create((ushort)0x00F0));

    /// <summary>Each 32-bit lane (four codes) → one byte, two bits per code.</summary>
    private static Vector256<uint> Quad(Vector256<uint> w) =>
        (w & Vector256.Create(0x3u)) | ((w >> 6) & Vector256.Create(0xCu)) | ((w >> 12) & Vector256.Create(0x30u)) | ((w >> 18) & Vector256.Create(0xC0u));

    /// <summary>The inverse of <see cref="Pair"/>: a byte in a 16-bit lane → its two codes in the lane's two bytes.</summary>
    private static Vector256<ushort> Split(Vector256<ushort> w) => (w & Vector256.Create((ushort)0x000F)) | ((w << 4) & Vector256.Create((ushort)0x0F00));

    /// <summary>The inverse of <see cref="Quad"/>: a byte in a 32-bit lane → its four codes in the lane's four bytes.</summary>
    private static Vector256<uint> Spread(Vector256<uint> w) =>
        (w & Vector256.Create(0x3u)) | ((w << 6) & Vector256.Create(0x300u)) | ((w << 12) & Vector256.Create(0x30000u)) | ((w << 18) & Vector256.Create(0x3000000u));

    private static ref byte First(ReadOnlySpan<sbyte> s) => ref MemoryMarshal.GetReference(MemoryMarshal.AsBytes(s));

    private static ref byte First(Span<sbyte> s) => ref MemoryMarshal.GetReference(MemoryMarshal.AsBytes(s));
}
