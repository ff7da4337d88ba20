namespace Confer.Federation.Reporting;

/// <summary>
/// Orders client ids the way people count: <c>client_2</c> before <c>client_10</c>. Ids compare by their text before
/// the trailing digits, then by that number; ids without trailing digits compare ordinally.
/// </summary>
internal sealed class ClientIdComparer : IComparer<string?>
{
    public static readonly ClientIdComparer Instance = new();

    public int Compare(string? x, string? y)
    {
        if (x is null || y is null) return x is null ? (y is null ? 0 : -1) : 1;
        var (xStem, xNumber) = Split(x);
        var (yStem, yNumber) = Split(y);
        var byStem = string.CompareOrdinal(xStem, yStem);
        if (byStem != 0) return byStem;
        var byNumber = xNumber.Length != yNumber.Length ? xNumber.Length.CompareTo(yNumber.Length) : string.CompareOrdinal(xNumber, yNumber);
        return byNumber != 0 ? byNumber : string.CompareOrdinal(x, y);
    }

    /// <summary>Stem and trailing digits with leading zeros dropped, so numbers compare by length then text.</summary>
    private static (string Stem, string Number) Split(string id)
    {
        var start = id.Length;
        while (start > 0 && char.IsAsciiDigit(id[start - 1])) start--;
        return (id[..start], id[start..].TrimStart('0'));
    }
}
