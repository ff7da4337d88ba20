using System.Text.RegularExpressions;
using Confer.Configuration;
using Confer.Data;
using Confer.Federation.Allocation;
using Confer.Tokenizers;

namespace Confer.Federation.Simulation;

/// <summary>
/// Shepherd's "client data allocation": reads the instruction data, gives each client its share (one file per client,
/// or one pooled file split by an allocator), holds out a local test split per client, caps client size, and
/// tokenises everything once. The allocation report (sizes after the cap, what each capped client had before it,
/// category histograms) goes to the run folder.
/// </summary>
public sealed partial class FederatedData
{
    private FederatedData(IReadOnlyList<ClientData> clients, IReadOnlyList<TokenizedExample> globalTest, AllocationReport report)
    {
        Clients = clients;
        GlobalTest = globalTest;
        Report = report;
    }

    public IReadOnlyList<ClientData> Clients { get; }

    public IReadOnlyList<TokenizedExample> GlobalTest { get; }

    public AllocationReport Report { get; }

    public static FederatedData Load(SimulationSettings s, TextTokenizer tokenizer)
    {
        var (records, allocation) = Split(s);
        var categories = records.Select(r => r.Category).ToList();
        var encoder = new ExampleEncoder(tokenizer, Prompter.Load(s.Template),
            new ExampleEncoderOptions { MaxLength = s.CutoffLen, TrainOnInputs = s.TrainOnInputs });
        var clients = new List<ClientData>();
        var kept = new List<IReadOnlyList<int>>();
        var available = new List<int>();
        for (var i = 0; i < allocation.Clients.Count; i++)
        {
            var indices = allocation.Clients[i];
            var own = indices.Select(j => records[j]).ToList();
            var client = ClientData.Prepare(ClientId(i), own, s, encoder);
            var (train, test) = ClientData.Split(client.Id, own.Count, s);
            kept.Add(train.Select(p => indices[p]).ToList());
            available.Add(own.Count - test.Count);
            clients.Add(client);
        }
        var testPath = s.TestData;
        if (!File.Exists(testPath)) throw new ConfigException($"test_data: '{testPath}' does not exist.");
        var globalTest = encoder.EncodeAll(InstructionRecordReader.Load(testPath)).Examples;
        var report = new DataAllocation(allocation.Method, allocation.Seed, kept).Report(categories).WithAvailable(available);
        return new FederatedData(clients, globalTest, report);
    }

    public static string ClientId(int index) => $"client_{index}";

    /// <summary>How many clients the settings' data and allocation make, without tokenising anything.</summary>
    public static int CountClients(SimulationSettings s) => Split(s).Allocation.Clients.Count;

    private static (IReadOnlyList<InstructionRecord> Records, DataAllocation Allocation) Split(SimulationSettings s)
    {
        if (Directory.Exists(s.Data))
        {
            var files = Directory.GetFiles(s.Data, "local_training_*.json*")
                .Select(f => (File: f, Index: ClientFileIndex().Match(Path.GetFileName(f))))
                .Where(x => x.Index.Success)
                .OrderBy(x => int.Parse(x.Index.Groups[1].Value))
                .Select(x => x.File)
                .ToList();
            if (files.Count == 0) throw new ConfigException($"data: folder '{s.Data}' has no local_training_<i>.json files.");
            var records = new List<InstructionRecord>();
            var clients = new List<IReadOnlyList<int>>();
            foreach (var file in files)
            {
                var part = InstructionRecordReader.Load(file);
                clients.Add(Enumerable.Range(records.Count, part.Count).ToList());
                records.AddRange(part);
            }
            if (s.Allocation == "natural") return (records, new DataAllocation("natural", s.Seed, clients));
            // Any other allocation pools the files and splits the pooled records anew (e.g. Shepherd's 100 clients).
            return (records, Allocate(s, records));
        }
        if (!File.Exists(s.Data)) throw new ConfigException($"data: '{s.Data}' is neither a folder nor a file.");
        if (s.Allocation == "natural")
            throw new ConfigException("allocation: natural needs a folder with one local_training_<i>.json per client; for one pooled file use iid, dirichlet, shards or quantity-skew.");
        var pooled = InstructionRecordReader.Load(s.Data);
        return (pooled, Allocate(s, pooled));
    }

    private static DataAllocation Allocate(SimulationSettings s, IReadOnlyList<InstructionRecord> records)
    {
        if (!AllocatorRegistry.Names.Contains(s.Allocation, StringComparer.OrdinalIgnoreCase))
            throw new ConfigException($"allocation: unknown method '{s.Allocation}' (valid: {string.Join(", ", AllocatorRegistry.Names)}).");
        var allocator = AllocatorRegistry.Create(s.Allocation, new AllocationOptions { Alpha = s.DirichletAlpha, MinClientSize = s.MinClientSize, ShardsPerClient = s.ShardsPerClient });
        return allocator.Allocate(records.Select(r => r.Category).ToList(), s.Clients, s.Seed);
    }

    [GeneratedRegex(@"^local_training_(\d+)\.jsonl?$")]
    private static partial Regex ClientFileIndex();
}
