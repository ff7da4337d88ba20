using System.CommandLine;
using System.Text.Json;
using Confer.Cli.Console;
using Confer.Data;
using Confer.Models;
using Confer.Models.Bert;
using Confer.Models.Llama;
using Confer.Tokenizers;
using Confer.Training;
using Confer.Training.MaskedLM;
using Confer.Training.ReplacedTokens;
using Confer.Configuration;
using static TorchSharp.torch;
using Confer.Runtime;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer pretrain</c>: trains a small base model from scratch on plain text, a LLaMA-family decoder with causal LM
/// (default) or a BERT encoder with masked LM (<c>--arch bert</c>), and writes a complete HF model folder (config,
/// weights, tokenizer files, and the command that made it).
/// </summary>
internal static class PretrainCommand
{
    public static Command Create()
    {
        var text = new Option<string[]>("--text") { Description = "text files: .txt (whole file), .json/.jsonl (every string value of every record); repeatable", Required = true, AllowMultipleArgumentsPerToken = true };
        var tokenizer = new Option<string>("--tokenizer") { Description = "folder with the tokenizer files to use (copied into the output)", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "output model folder", Required = true };
        var hidden = new Option<int>("--hidden") { DefaultValueFactory = _ => 128, Description = "hidden size" };
        var layers = new Option<int>("--layers") { DefaultValueFactory = _ => 6, Description = "transformer layers" };
        var heads = new Option<int>("--heads") { DefaultValueFactory = _ => 4, Description = "attention heads" };
        var kvHeads = new Option<int>("--kv-heads") { DefaultValueFactory = _ => 2, Description = "key/value heads (GQA; llama only)" };
        var ffn = new Option<int>("--ffn") { DefaultValueFactory = _ => 384, Description = "feed-forward intermediate size (SwiGLU for llama, GELU for bert)" };
        var block = new Option<int>("--block-size") { DefaultValueFactory = _ => 256, Description = "training sequence length" };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 2000, Description = "optimiser steps" };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 16, Description = "sequences per step" };
        var lr = new Option<double?>("--lr") { Description = "peak learning rate (cosine schedule); default 3e-3 for llama, 1e-3 for bert" };
        var archOption = new Option<string>("--arch") { DefaultValueFactory = _ => "llama", Description = "llama: decoder, causal LM; bert: encoder, masked LM (needs a WordPiece vocab.txt tokenizer)" };
        archOption.AcceptOnlyFromAmong("llama", "bert");
        var objective = new Option<string>("--objective") { DefaultValueFactory = _ => "mlm", Description = "bert only: mlm (masked LM) or rtd (ELECTRA-style replaced-token detection; replacements keep the token's kind, a digit for a digit)" };
        objective.AcceptOnlyFromAmong("mlm", "rtd");
        var init = new Option<string?>("--init") { Description = "bert only: start from this BERT folder's encoder (its config.json sets the shape; do not pass --hidden/--layers/--heads/--ffn)" };
        var holdout = new Option<double>("--holdout") { DefaultValueFactory = _ => 0.02, Description = "fraction of blocks held out for validation loss" };
        var seed = CommonOptions.Seed();
        var command = new Command("pretrain", "Train a small base model from scratch on text (causal LM; masked LM for --arch bert).")
        {
            archOption, objective, init, text, tokenizer, output, hidden, layers, heads, kvHeads, ffn, block, steps, batch, lr, holdout, seed,
        };
        command.SetAction(parse =>
        {
            var arch = parse.GetValue(archOption)!;
            var initFolder = parse.GetValue(init);
            if (arch != "bert" && (initFolder is not null || parse.GetValue(objective) != "mlm"))
                throw new ConfigException("pretrain: --objective and --init apply to --arch bert only.");
            if (initFolder is not null && new Option[] { hidden, layers, heads, ffn }.FirstOrDefault(o => parse.GetResult(o) is { Implicit: false }) is { } shape)
                throw new ConfigException($"pretrain: {shape.Name} conflicts with --init (the model's shape comes from '{initFolder}/config.json'); leave it out.");
            var run = new PretrainRun(parse.GetValue(text)!, parse.GetValue(tokenizer)!, parse.GetValue(output)!, parse.GetValue(hidden), parse.GetValue(layers),
                parse.GetValue(heads), parse.GetValue(kvHeads), parse.GetValue(ffn), parse.GetValue(block), parse.GetValue(steps), parse.GetValue(batch),
                parse.GetValue(lr) ?? (arch == "bert" ? 1e-3 : 3e-3), parse.GetValue(holdout), parse.GetValue(seed));
            if (arch != "bert") return PretrainLlama(run);
            return parse.GetValue(objective) == "rtd" ? PretrainBertReplacedTokens(run, initFolder) : PretrainBert(run, initFolder);
        });
        return command;
    }

    /// <summary>The parsed command line, shared by both architectures.</summary>
    private sealed record PretrainRun(string[] Text, string Tokenizer, string Output, int Hidden, int Layers, int Heads, int KvHeads, int Ffn,
        int BlockSize, int Steps, int BatchSize, double LearningRate, double Holdout, long Seed);

    private static int PretrainLlama(PretrainRun run)
    {
        var tok = TextTokenizer.FromPretrained(run.Tokenizer);
        var documents = run.Text.SelectMany(TextCorpus.Read).ToList();
        var blocks = new TextBlockEncoder(tok, run.BlockSize).Encode(documents);
        var (train, validation) = Split(blocks, run.Holdout, run.Seed);
        System.Console.WriteLine($"pretrain: {documents.Count} documents, {blocks.Count} blocks of {run.BlockSize} tokens ({train.Count} train, {validation.Count} validation)");

        var config = new LlamaConfig
        {
            VocabSize = tok.VocabSize, HiddenSize = run.Hidden, NumHiddenLayers = run.Layers,
            NumAttentionHeads = run.Heads, NumKeyValueHeads = run.KvHeads, IntermediateSize = run.Ffn,
            MaxPositionEmbeddings = Math.Max(1024, run.BlockSize), RmsNormEps = 1e-5, TieWordEmbeddings = true,
            BosTokenId = tok.BosId, EosTokenIdRaw = tok.EosId is { } eos ? JsonSerializer.SerializeToElement(eos) : null,
        };
        manual_seed(run.Seed);
        using var model = new LlamaForCausalLM(config);
        var options = Options(run, tok);
        var before = Evaluator.EvaluateLoss(model, validation, 16);
        var result = new TrainingProgressView("pretrain").Run(options.MaxSteps, report => new LocalTrainer(options).Train(model, train, report));
        var after = Evaluator.EvaluateLoss(model, validation, 16);
        System.Console.WriteLine($"pretrain: {result.Steps} steps, {result.Tokens} tokens in {result.Seconds:F0} s ({result.Tokens / result.Seconds:F0} tok/s); " +
            $"validation loss {before.MeanLoss:F3} → {after.MeanLoss:F3} (perplexity {after.Perplexity:F1})");

        model.SavePretrained(run.Output);
        WriteFolderExtras(run, documents.Count, blocks.Count, result, before, after, "validation loss");
        return 0;
    }

    /// <summary>BERT encoder with masked LM: [CLS] … [SEP] blocks, 15% of tokens masked BERT's way, tied decoder.</summary>
    private static int PretrainBert(PretrainRun run, string? initFolder)
    {
        var (tok, documents, blocks, train, validation) = BertBlocks(run, "masked LM");
        var masking = MaskingOptions.FromTokenizer(tok);

        manual_seed(run.Seed);
        using var model = initFolder is null ? new BertForMaskedLM(NewBertConfig(run, tok)) : BertForMaskedLM.FromPretrained(initFolder);
        CheckVocabulary(model.Config, tok, initFolder);
        var options = Options(run, tok);
        var before = MaskedLMEvaluator.EvaluateLoss(model, validation, masking, 16, run.Seed);
        var result = new TrainingProgressView("pretrain").Run(options.MaxSteps, report => new MaskedLMTrainer(options, masking).Train(model, train, report));
        var after = MaskedLMEvaluator.EvaluateLoss(model, validation, masking, 16, run.Seed);
        System.Console.WriteLine($"pretrain: {result.Steps} steps, {result.Tokens} tokens in {result.Seconds:F0} s ({result.Tokens / result.Seconds:F0} tok/s); " +
            $"validation masked-LM loss {before.MeanLoss:F3} → {after.MeanLoss:F3} (perplexity {after.Perplexity:F1})");

        model.SavePretrained(run.Output);
        WriteFolderExtras(run, documents.Count, blocks.Count, result, before, after, "validation masked-LM loss");
        return 0;
    }

    /// <summary>
    /// BERT with ELECTRA's replaced-token-detection objective (<see cref="ReplacedTokenTrainer"/>), from scratch or from
    /// an encoder (typically a masked-LM checkpoint, as ELECTRA's discriminator shares its embeddings with a masked-LM
    /// generator). Writes a plain BERT encoder folder.
    /// </summary>
    private static int PretrainBertReplacedTokens(PretrainRun run, string? initFolder)
    {
        var (tok, documents, blocks, train, validation) = BertBlocks(run, "replaced-token detection");
        manual_seed(run.Seed);
        using var model = initFolder is null ? new BertForReplacedTokenDetection(NewBertConfig(run, tok)) : BertForReplacedTokenDetection.FromEncoder(initFolder);
        CheckVocabulary(model.Config, tok, initFolder);
        var trainer = new ReplacedTokenTrainer(Options(run, tok), tok);
        var before = trainer.Evaluate(model, validation, 16, run.Seed);
        var result = new TrainingProgressView("pretrain").Run(trainer.Options.MaxSteps, report => trainer.Train(model, train, report));
        var after = trainer.Evaluate(model, validation, 16, run.Seed);
        System.Console.WriteLine($"pretrain: {result.Steps} steps, {result.Tokens} tokens in {result.Seconds:F0} s ({result.Tokens / result.Seconds:F0} tok/s); " +
            $"validation replaced-token loss {before.Loss:F3} → {after.Loss:F3}, accuracy {before.Accuracy:P1} → {after.Accuracy:P1}");
        model.SavePretrained(run.Output);
        WriteFolderExtras(run, documents.Count, blocks.Count, result,
            $"validation replaced-token BCE: {before.Loss:F4} before, {after.Loss:F4} after; per-token accuracy {before.Accuracy:P2} → {after.Accuracy:P2} " +
            $"({ReplacedTokenTrainer.DefaultProbability:P0} of tokens replaced)");
        return 0;
    }

    /// <summary>The tokenizer, the corpus as [CLS] … [SEP] blocks and their train/validation split, reported on the console.</summary>
    private static (TextTokenizer Tok, List<string> Documents, IReadOnlyList<int[]> Blocks, List<int[]> Train, List<int[]> Validation) BertBlocks(PretrainRun run, string objective)
    {
        var tok = TextTokenizer.FromPretrained(run.Tokenizer);
        var documents = run.Text.SelectMany(TextCorpus.Read).ToList();
        var blocks = new MaskedLMBlockEncoder(tok, run.BlockSize).Encode(documents);
        var (train, validation) = Split(blocks, run.Holdout, run.Seed);
        System.Console.WriteLine($"pretrain (bert, {objective}): {documents.Count} documents, {blocks.Count} blocks of {run.BlockSize} tokens ({train.Count} train, {validation.Count} validation)");
        return (tok, documents, blocks, train, validation);
    }

    private static BertConfig NewBertConfig(PretrainRun run, TextTokenizer tok) => new()
    {
        Architectures = ["BertForMaskedLM"], VocabSize = tok.VocabSize, HiddenSize = run.Hidden, NumHiddenLayers = run.Layers,
        NumAttentionHeads = run.Heads, IntermediateSize = run.Ffn, MaxPositionEmbeddings = Math.Max(512, run.BlockSize),
        PadTokenId = tok.PadId ?? 0,
    };

    private static void CheckVocabulary(BertConfig config, TextTokenizer tok, string? initFolder)
    {
        if (config.VocabSize != tok.VocabSize)
            throw new ConfigException($"pretrain: --init '{initFolder}' has vocab_size {config.VocabSize}, the --tokenizer has {tok.VocabSize} tokens; use the tokenizer the model was made with.");
    }

    private static TrainerOptions Options(PretrainRun run, TextTokenizer tok) => new()
    {
        LearningRate = run.LearningRate, MaxSteps = run.Steps, MicroBatchSize = run.BatchSize,
        Schedule = LearningRateSchedule.Cosine, WarmupRatio = 0.05, WeightDecay = 0.1, Beta2 = 0.95, Seed = run.Seed,
        PadTokenId = tok.PadId ?? 0, LogEvery = 10,
    };

    /// <summary>Tokenizer files and PRETRAIN.md (the command that made the model and its before/after loss).</summary>
    private static void WriteFolderExtras(PretrainRun run, int documents, int blocks, TrainResult result, LossReport before, LossReport after, string lossName) =>
        WriteFolderExtras(run, documents, blocks, result, $"{lossName}: {before.MeanLoss:F4} before, {after.MeanLoss:F4} after (perplexity {after.Perplexity:F2})");

    private static void WriteFolderExtras(PretrainRun run, int documents, int blocks, TrainResult result, string lossLine)
    {
        TokenizerFiles.CopyTo(run.Tokenizer, run.Output);
        AtomicFile.WriteAllText(Path.Combine(run.Output, "PRETRAIN.md"),
            $"# How this model was made\n\n```\n./confer {string.Join(' ', Environment.GetCommandLineArgs().Skip(1).Select(Quote))}\n```\n\n" +
            $"- documents: {documents}; blocks: {blocks} × {run.BlockSize} tokens; steps: {result.Steps}; tokens seen: {result.Tokens}\n" +
            $"- {lossLine}\n" +
            $"- wall time: {result.Seconds:F0} s on {Environment.ProcessorCount} cores\n");
    }

    private static (List<T> Train, List<T> Validation) Split<T>(IReadOnlyList<T> blocks, double holdout, long seed)
    {
        var order = Enumerable.Range(0, blocks.Count).ToArray();
        new Random((int)seed).Shuffle(order);
        var n = Math.Max(1, (int)(blocks.Count * holdout));
        return (order.Skip(n).Select(i => blocks[i]).ToList(), order.Take(n).Select(i => blocks[i]).ToList());
    }

    private static string Quote(string arg) => arg.Contains(' ') ? $"\"{arg}\"" : arg;
}
