using System.Runtime.InteropServices;
using System.Text;

namespace Confer.Tokenizers.TokenizerJson;

/// <summary>
/// Unicode normalisation through the system's ICU (<c>libicuuc</c>). Confer runs with invariant globalisation, in
/// which <see cref="string.Normalize()"/> silently returns non-ASCII text unchanged, so a tokenizer whose
/// <c>tokenizer.json</c> asks for NFC would diverge from Hugging Face on decomposed input without this.
/// </summary>
internal sealed class IcuNormalizer
{
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr GetInstance(ref int errorCode);

    // ICU's UChar is UTF-16, so the arrays cross as 2-byte characters.
    [UnmanagedFunctionPointer(CallingConvention.Cdecl, CharSet = CharSet.Unicode)]
    private delegate int Normalize(IntPtr normalizer, [In] char[] source, int length, [Out] char[] destination, int capacity, ref int errorCode);

    private const int BufferOverflowError = 15; // U_BUFFER_OVERFLOW_ERROR

    private static readonly Lazy<(IntPtr Library, int Version)> Icu = new(FindIcu);
    private readonly IntPtr _instance;
    private readonly Normalize _normalize;

    private IcuNormalizer(IntPtr instance, Normalize normalize)
    {
        _instance = instance;
        _normalize = normalize;
    }

    /// <summary>The ICU normaliser for <paramref name="form"/>: NFC, NFD, NFKC or NFKD.</summary>
    /// <exception cref="NotSupportedException">ICU is not installed.</exception>
    public static IcuNormalizer Create(NormalizationForm form)
    {
        var (library, version) = Icu.Value;
        string getter = form switch
        {
            NormalizationForm.FormC => "unorm2_getNFCInstance",
            NormalizationForm.FormD => "unorm2_getNFDInstance",
            NormalizationForm.FormKC => "unorm2_getNFKCInstance",
            _ => "unorm2_getNFKDInstance",
        };
        var get = Marshal.GetDelegateForFunctionPointer<GetInstance>(Export(library, getter, version));
        int error = 0;
        var instance = get(ref error);
        if (error > 0 || instance == IntPtr.Zero) throw new NotSupportedException($"ICU could not create the {form} normalizer (error {error}).");
        return new IcuNormalizer(instance, Marshal.GetDelegateForFunctionPointer<Normalize>(Export(library, "unorm2_normalize", version)));
    }

    public string Apply(string text)
    {
        if (text.Length == 0) return text;
        var source = text.ToCharArray();
        var destination = new char[text.Length * 2 + 16];
        int error = 0;
        int length = _normalize(_instance, source, source.Length, destination, destination.Length, ref error);
        if (error == BufferOverflowError)
        {
            destination = new char[length];
            error = 0;
            length = _normalize(_instance, source, source.Length, destination, destination.Length, ref error);
        }
        if (error > 0) throw new InvalidOperationException($"ICU normalisation failed (error {error}).");
        return new string(destination, 0, length);
    }

    private static IntPtr Export(IntPtr library, string name, int version) =>
        NativeLibrary.TryGetExport(library, $"{name}_{version}", out var versioned) ? versioned
        : NativeLibrary.TryGetExport(library, name, out var plain) ? plain
        : throw new NotSupportedException($"The ICU library has no '{name}'.");

    /// <summary>ICU suffixes its symbols with its major version; like .NET itself, try the versions a distribution may ship.</summary>
    private static (IntPtr, int) FindIcu()
    {
        for (int version = 90; version >= 50; version--)
        {
            if (NativeLibrary.TryLoad($"libicuuc.so.{version}", out var library)) return (library, version);
        }
        throw new NotSupportedException(
            "This tokenizer.json normalizes Unicode (NFC/NFD/NFKC/NFKD), which needs ICU: install it (Debian: apt-get install libicu72).");
    }
}
