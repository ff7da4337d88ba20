using System.CommandLine;
using System.Text.Json;
using Confer.Cli.Console;
using Confer.Data;
using Confer.Models;
using Confer.Models.Llama;
using Confer.Tokenizers;
using Confer.Training;
using static TorchSharp.torch;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer pretrain</c>: trains a small LLaMA-family base model from scratch on plain text (causal LM), and writes a
/// complete HF model folder (config, weights, tokenizer files, and the command that made it).
/// </summary>
internal static class PretrainCommand
{
    public static Command Create()
    {
        var text = new Option<string[]>("--text") { Description = "text files: .txt (whole file), .json/.jsonl (every string value of every record); repeatable", Required = true, AllowMultipleArgumentsPerToken = true };
        var tokenizer = new Option<string>("--tokenizer") { Description = "folder with the tokenizer files to use (copied into the output)", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "output model folder", Required = true };
        var hidden = new Option<int>("--hidden") { DefaultValueFactory = _ => 128, Description = "hidden size" };
        var layers = new Option<int>("--layers") { DefaultValueFactory = _ => 6, Description = "decoder layers" };
        var heads = new Option<int>("--heads") { DefaultValueFactory = _ => 4, Description = "attention heads" };
        var kvHeads = new Option<int>("--kv-heads") { DefaultValueFactory = _ => 2, Description = "key/value heads (GQA)" };
        var ffn = new Option<int>("--ffn") { DefaultValueFactory = _ => 384, Description = "SwiGLU intermediate size" };
        var block = new Option<int>("--block-size") { DefaultValueFactory = _ => 256, Description = "training sequence length" };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 2000, Description = "optimiser steps" };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 16, Description = "sequences per step" };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 3e-3, Description = "peak learning rate (cosine schedule)" };
        var holdout = new Option<double>("--holdout") { DefaultValueFactory = _ => 0.02, Description = "fraction of blocks held out for validation loss" };
        var seed = CommonOptions.Seed();
        var command = new Command("pretrain", "Train a small base model from scratch on text (causal LM).")
        {
            text, tokenizer, output, hidden, layers, heads, kvHeads, ffn, block, steps, batch, lr, holdout, seed,
        };
        command.SetAction(parse =>
        {
            var tok = TextTokenizer.FromPretrained(parse.GetValue(tokenizer)!);
            var documents = parse.GetValue(text)!.SelectMany(TextCorpus.Read).ToList();
            var blocks = new TextBlockEncoder(tok, parse.GetValue(block)).Encode(documents);
            var (train, validation) = Split(blocks, parse.GetValue(holdout), parse.GetValue(seed));
            System.Console.WriteLine($"pretrain: {documents.Count} documents, {blocks.Count} blocks of {parse.GetValue(block)} tokens ({train.Count} train, {validation.Count} validation)");

            var config = new LlamaConfig
            {
                VocabSize = tok.VocabSize, HiddenSize = parse.GetValue(hidden), NumHiddenLayers = parse.GetValue(layers),
                NumAttentionHeads = parse.GetValue(heads), NumKeyValueHeads = parse.GetValue(kvHeads), IntermediateSize = parse.GetValue(ffn),
                MaxPositionEmbeddings = Math.Max(1024, parse.GetValue(block)), RmsNormEps = 1e-5, TieWordEmbeddings = true,
                BosTokenId = tok.BosId, EosTokenIdRaw = tok.EosId is { } eos ? JsonSerializer.SerializeToElement(eos) : null,
            };
            manual_seed(parse.GetValue(seed));
            using var model = new LlamaForCausalLM(config);
            var options = new TrainerOptions
            {
                LearningRate = parse.GetValue(lr), MaxSteps = parse.GetValue(steps), MicroBatchSize = parse.GetValue(batch),
                Schedule = LearningRateSchedule.Cosine, WarmupRatio = 0.05, WeightDecay = 0.1, Beta2 = 0.95, Seed = parse.GetValue(seed),
                PadTokenId = tok.PadId ?? 0, LogEvery = 10,
            };
            var before = Evaluator.EvaluateLoss(model, validation, 16);
            var result = new TrainingProgressView("pretrain").Run(options.MaxSteps, report => new LocalTrainer(options).Train(model, train, report));
            var after = Evaluator.EvaluateLoss(model, validation, 16);
            System.Console.WriteLine($"pretrain: {result.Steps} steps, {result.Tokens} tokens in {result.Seconds:F0} s ({result.Tokens / result.Seconds:F0} tok/s); " +
                $"validation loss {before.MeanLoss:F3} → {after.MeanLoss:F3} (perplexity {after.Perplexity:F1})");

            var folder = parse.GetValue(output)!;
            model.SavePretrained(folder);
            TokenizerFiles.CopyTo(parse.GetValue(tokenizer)!, folder);
            AtomicFile.WriteAllText(Path.Combine(folder, "PRETRAIN.md"),
                $"# How this model was made\n\n```\n./confer {string.Join(' ', Environment.GetCommandLineArgs().Skip(1).Select(Quote))}\n```\n\n" +
                $"- documents: {documents.Count}; blocks: {blocks.Count} × {parse.GetValue(block)} tokens; steps: {result.Steps}; tokens seen: {result.Tokens}\n" +
                $"- validation loss: {before.MeanLoss:F4} before, {after.MeanLoss:F4} after (perplexity {after.Perplexity:F2})\n" +
                $"- wall time: {result.Seconds:F0} s on {Environment.ProcessorCount} cores\n");
            return 0;
        });
        return command;
    }

    private static (List<TokenizedExample> Train, List<TokenizedExample> Validation) Split(IReadOnlyList<TokenizedExample> blocks, double holdout, long seed)
    {
        var order = Enumerable.Range(0, blocks.Count).ToArray();
        new Random((int)seed).Shuffle(order);
        var n = Math.Max(1, (int)(blocks.Count * holdout));
        return (order.Skip(n).Select(i => blocks[i]).ToList(), order.Take(n).Select(i => blocks[i]).ToList());
    }

    private static string Quote(string arg) => arg.Contains(' ') ? $"\"{arg}\"" : arg;
}
