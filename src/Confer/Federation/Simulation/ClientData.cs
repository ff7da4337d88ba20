using Confer.Configuration;
using Confer.Data;

namespace Confer.Federation.Simulation;

/// <summary>One client's private data: its training examples and a held-out local test split.</summary>
public sealed record ClientData(string Id, IReadOnlyList<TokenizedExample> Train, IReadOnlyList<TokenizedExample> LocalTest)
{
    /// <summary>
    /// Splits and tokenises one client's records by the run's rules (local test share, size cap, both seeded by the
    /// client id). A simulated client and a deployed client process call this with the same records and settings and
    /// so train on exactly the same examples.
    /// </summary>
    public static ClientData Prepare(string clientId, IReadOnlyList<InstructionRecord> records, SimulationSettings s, ExampleEncoder encoder)
    {
        var (train, test) = Split(clientId, records.Count, s);
        if (train.Count == 0)
            throw new ConfigException($"data: client {clientId} has no training records after the local test split; lower local_test_fraction or use fewer clients.");
        var encoded = encoder.EncodeAll(train.Select(i => records[i]));
        if (encoded.Examples.Count == 0)
            throw new ConfigException($"cutoff_len: all {encoded.Total} training records of {clientId} lose their whole response at {s.CutoffLen} tokens; raise cutoff_len.");
        return new ClientData(clientId, encoded.Examples, encoder.EncodeAll(test.Select(i => records[i])).Examples);
    }

    /// <summary>Positions (ascending) of a client's training records and of its local test records among its <paramref name="count"/> records.</summary>
    public static (IReadOnlyList<int> Train, IReadOnlyList<int> Test) Split(string clientId, int count, SimulationSettings s)
    {
        var positions = Enumerable.Range(0, count).ToArray();
        new SplitMix64(SeedMix.Mix(s.Seed, 0, clientId)).Shuffle(positions);
        var testCount = s.LocalTestFraction > 0 ? Math.Max(1, (int)Math.Round(count * s.LocalTestFraction)) : 0;
        var train = positions.Skip(testCount);
        if (s.MaxClientRecords > 0) train = train.Take(s.MaxClientRecords);
        return (train.Order().ToList(), positions.Take(testCount).Order().ToList());
    }
}
