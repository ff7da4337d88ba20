using System.Text;

namespace Confer.Federation.Experiments;

/// <summary>One axis of an experiment grid: an experiment key (<c>uplink_codec</c>, <c>lora_r</c> …) and the values it takes.</summary>
/// <param name="Key">The experiment key the axis sets in each cell.</param>
/// <param name="Label">A short name for tables and folder names, e.g. <c>up</c> or <c>r</c>.</param>
/// <param name="Values">The values, in the order the cells run.</param>
public sealed record GridAxis(string Key, string Label, IReadOnlyList<string> Values);

/// <summary>One cell of a grid: a value for every axis, applied to the base experiment as <c>key=value</c> overrides.</summary>
public sealed record GridCell(IReadOnlyList<KeyValuePair<GridAxis, string>> Values)
{
    public string this[string key] => Values.First(v => v.Key.Key == key).Value;

    /// <summary>The overrides that turn the base experiment into this cell.</summary>
    public IEnumerable<string> Overrides => Values.Select(v => $"{v.Key.Key}={v.Value}");

    /// <summary>A stable, file-system-safe folder name made of the cell's values, so a rerun finds a cell's run folder again.</summary>
    public string FolderName => string.Join("__", Values.Select(v => $"{v.Key.Label}-{Slug(v.Value)}"));

    public override string ToString() => string.Join(", ", Values.Select(v => $"{v.Key.Label}={v.Value.Replace(" ", "", StringComparison.Ordinal)}"));

    public bool SameAs(GridCell other) => Values.Count == other.Values.Count && Values.Zip(other.Values).All(p => p.First.Key.Key == p.Second.Key.Key && p.First.Value == p.Second.Value);

    private static string Slug(string value)
    {
        var slug = new StringBuilder();
        foreach (var c in value)
            slug.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' ? c : c == '>' ? '+' : c == ':' ? '_' : "");
        return slug.ToString();
    }
}

/// <summary>
/// The cells of an experiment: every combination of its axes' values, first axis slowest. A new axis (the PEFT method,
/// say) is one more <see cref="GridAxis"/>; the cells, their folders and their tables follow.
/// </summary>
public sealed class ExperimentGrid
{
    public ExperimentGrid(IReadOnlyList<GridAxis> axes)
    {
        if (axes.Count == 0 || axes.Any(a => a.Values.Count == 0)) throw new ArgumentException("A grid needs at least one axis, each with at least one value.", nameof(axes));
        if (axes.Select(a => a.Key).Distinct(StringComparer.Ordinal).Count() != axes.Count) throw new ArgumentException("Two axes set the same key.", nameof(axes));
        Axes = axes;
        IEnumerable<IReadOnlyList<KeyValuePair<GridAxis, string>>> cells = [[]];
        foreach (var axis in axes)
            cells = cells.SelectMany(c => axis.Values.Distinct(StringComparer.Ordinal).Select(v => (IReadOnlyList<KeyValuePair<GridAxis, string>>)[.. c, new(axis, v)]));
        Cells = [.. cells.Select(c => new GridCell(c))];
    }

    public IReadOnlyList<GridAxis> Axes { get; }

    public IReadOnlyList<GridCell> Cells { get; }

    /// <summary>The cell with <paramref name="values"/>[axis key] on every axis (the cell need not be one of <see cref="Cells"/>).</summary>
    public GridCell Cell(IReadOnlyDictionary<string, string> values) =>
        new([.. Axes.Select(a => new KeyValuePair<GridAxis, string>(a, values[a.Key]))]);
}
