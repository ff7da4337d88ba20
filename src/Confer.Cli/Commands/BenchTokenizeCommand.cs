using System.CommandLine;
using System.Diagnostics;
using System.Text;
using Confer.Cli.Commands.Bench;
using Confer.Data;
using Confer.Tokenizers;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer bench tokenize</c>: tokenizer throughput on one thread, in MB of UTF-8 text per second and tokens per
/// second, over instruction data (by default all of Dolly-15k with the Llama 3 tokenizer.json from ../shared).
/// </summary>
internal static class BenchTokenizeCommand
{
    public static Command Create()
    {
        var tokenizer = new Option<string>("--tokenizer", "-t") { Description = "tokenizer or model folder", DefaultValueFactory = _ => "../shared/data/tokenizers/llama3" };
        var data = new Option<string[]>("--data", "-d")
        {
            Description = "instruction data files or folders of them (each record is tokenized as instruction, input and output joined by blank lines)",
            DefaultValueFactory = _ => ["data/dolly-15k/shepherd-10clients"], AllowMultipleArgumentsPerToken = true,
        };
        var passes = new Option<int>("--passes") { Description = "timed passes over the data (the median is reported)", DefaultValueFactory = _ => 3 };
        var command = new Command("tokenize", "Tokenizer throughput (MB/s, tokens/s) on one thread.") { tokenizer, data, passes };
        command.SetAction(parse =>
        {
            var folder = parse.GetValue(tokenizer)!;
            var files = parse.GetValue(data)!.SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p, "*.json*").Order(StringComparer.Ordinal) : (IEnumerable<string>)[p]).ToList();
            var texts = InstructionRecordReader.LoadAll(files)
                .Select(r => string.Join("\n\n", new[] { r.Instruction, r.Input, r.Output }.Where(t => t.Length > 0))).ToList();
            long bytes = texts.Sum(t => (long)Encoding.UTF8.GetByteCount(t));
            int n = parse.GetValue(passes);
            if (n < 1) throw new ArgumentException("--passes must be ≥ 1.");

            System.Console.WriteLine(BenchMachine.Describe());
            var load = MachineLoadMonitor.Start();
            var clock = Stopwatch.StartNew();
            var tok = TextTokenizer.FromPretrained(folder);
            System.Console.WriteLine($"tokenizer {folder} ({tok.Kind}, {tok.VocabSize} ids) loaded in {clock.Elapsed.TotalSeconds:F2} s");
            System.Console.WriteLine($"data: {texts.Count} texts, {bytes / 1e6:F2} MB UTF-8 from {files.Count} file(s); one thread");

            // An untimed pass JIT-compiles the code paths and fills the BPE model's word cache, as a long run would.
            long tokens = texts.Sum(t => (long)tok.Encode(t).Count);
            var seconds = new List<double>();
            for (int pass = 0; pass < n; pass++)
            {
                clock.Restart();
                foreach (var text in texts) tok.Encode(text);
                seconds.Add(clock.Elapsed.TotalSeconds);
                System.Console.WriteLine($"  pass {pass + 1}: {seconds[^1]:F2} s  {bytes / 1e6 / seconds[^1],7:F2} MB/s  {tokens / seconds[^1] / 1e6,6:F2} M tokens/s");
            }
            double median = seconds.Order().ElementAt(seconds.Count / 2);
            System.Console.WriteLine(load.Describe());
            System.Console.WriteLine($"summary: tokenize {Path.GetFileName(Path.GetFullPath(folder).TrimEnd('/'))} ({tok.Kind}) {bytes / 1e6 / median:F2} MB/s, " +
                                     $"{tokens / median / 1e6:F2} M tokens/s ({tokens} tokens, {bytes / (double)tokens:F2} bytes/token), one thread, median of {n}");
            return 0;
        });
        return command;
    }
}
