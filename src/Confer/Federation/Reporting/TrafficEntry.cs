using System.Globalization;

namespace Confer.Federation.Reporting;

/// <summary>
/// One row of <c>traffic.csv</c>: what one client sent and received in one round — parameters, their fp32 size before
/// the codecs (raw) and the bytes that travelled. Files written before codecs existed have no raw columns; their
/// bytes were raw.
/// </summary>
internal sealed record TrafficEntry(int Round, string Client, long ParamsDown, long BytesDown, long ParamsUp, long BytesUp, long RawBytesDown, long RawBytesUp)
{
    public const string FileName = "traffic.csv";

    public const string Header = "round,client,params_down,raw_bytes_down,bytes_down,params_up,raw_bytes_up,bytes_up";

    private static readonly string[] Columns = ["round", "client", "params_down", "bytes_down", "params_up", "bytes_up"];

    private static readonly string[] RawColumns = ["raw_bytes_down", "raw_bytes_up"];

    public static TrafficEntry From(ClientTraffic t) =>
        new(t.Round, t.ClientId, t.Down.Parameters, t.Down.Bytes, t.Up.Parameters, t.Up.Bytes, t.Down.RawBytes, t.Up.RawBytes);

    public ClientTraffic ToTraffic() =>
        new(Round, Client, new TransferCost(ParamsDown, RawBytesDown, BytesDown), new TransferCost(ParamsUp, RawBytesUp, BytesUp));

    public string ToCsv() => $"{Round},{Client},{ParamsDown},{RawBytesDown},{BytesDown},{ParamsUp},{RawBytesUp},{BytesUp}";

    /// <summary>All rows, or none when the run folder has no traffic.csv (it is optional).</summary>
    public static IReadOnlyList<TrafficEntry> Read(string runFolder)
    {
        var path = Path.Combine(runFolder, FileName);
        if (!File.Exists(path)) return [];
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0) return [];

        var header = lines[0].Trim().Split(',');
        var index = Columns.Select(c => Array.IndexOf(header, c)).ToArray();
        var raw = RawColumns.Select(c => Array.IndexOf(header, c)).ToArray();
        if (index.Any(i => i < 0))
            throw new InvalidDataException($"{path}: header must name the columns {string.Join(',', Columns)}; found '{lines[0]}'.");

        var rows = new List<TrafficEntry>();
        for (var n = 1; n < lines.Length; n++)
        {
            if (lines[n].Trim().Length == 0) continue;
            var f = lines[n].Trim().Split(',');
            if (f.Length != header.Length)
                throw new InvalidDataException($"{path} line {n + 1}: {f.Length} fields, the header has {header.Length}.");
            try
            {
                var (bytesDown, bytesUp) = (Long(f[index[3]]), Long(f[index[5]]));
                rows.Add(new TrafficEntry(int.Parse(f[index[0]], CultureInfo.InvariantCulture), f[index[1]],
                    Long(f[index[2]]), bytesDown, Long(f[index[4]]), bytesUp,
                    raw[0] >= 0 ? Long(f[raw[0]]) : bytesDown, raw[1] >= 0 ? Long(f[raw[1]]) : bytesUp));
            }
            catch (FormatException ex)
            {
                throw new InvalidDataException($"{path} line {n + 1}: a number column holds text ({ex.Message}).", ex);
            }
        }
        return rows;
    }

    private static long Long(string s) => long.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture);
}
