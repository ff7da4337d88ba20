using System.CommandLine;
using Confer.Cli.Console;
using Confer.Configuration;
using Confer.Data;
using Confer.Models;
using Confer.Peft;
using Confer.Tokenizers;
using Confer.Training;
using Spectre.Console;
using static TorchSharp.torch;

namespace Confer.Cli.Commands;

/// <summary><c>confer finetune</c>: one-machine LoRA instruction tuning; writes a PEFT adapter folder.</summary>
internal static class FinetuneCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var data = new Option<string[]>("--data", "-d") { Description = "instruction data (Alpaca or Dolly JSON/JSONL); repeatable", Required = true, AllowMultipleArgumentsPerToken = true };
        var eval = new Option<string?>("--eval-data") { Description = "held-out instruction data for loss/perplexity before and after" };
        var output = new Option<string>("--out", "-o") { Description = "output adapter folder (PEFT format)", Required = true };
        var overwrite = new Option<bool>("--overwrite") { Description = "replace an adapter already in the output folder" };
        var template = new Option<string>("--template") { Description = "prompt template name or JSON path, or \"chat\" for the model's own chat template", DefaultValueFactory = _ => "alpaca" };
        var cutoff = new Option<int>("--cutoff-len") { Description = "max tokens per example", DefaultValueFactory = _ => 256 };
        var trainOnInputs = new Option<bool>("--train-on-inputs") { Description = "also compute the loss on prompt tokens" };
        var rank = new Option<int>("--lora-r") { Description = "LoRA rank", DefaultValueFactory = _ => 8 };
        var alpha = new Option<double>("--lora-alpha") { Description = "LoRA alpha", DefaultValueFactory = _ => 16 };
        var dropout = new Option<double>("--lora-dropout") { Description = "LoRA dropout", DefaultValueFactory = _ => 0.05 };
        var targets = new Option<string[]>("--lora-targets") { Description = "target module names", DefaultValueFactory = _ => [.. LoraConfig.LlamaAllLinear], AllowMultipleArgumentsPerToken = true };
        var epochs = new Option<int>("--epochs") { Description = "passes over the data", DefaultValueFactory = _ => 1 };
        var steps = new Option<int>("--steps") { Description = "optimiser steps (overrides --epochs)" };
        var lr = new Option<double>("--lr") { Description = "peak learning rate", DefaultValueFactory = _ => 3e-4 };
        var batch = new Option<int>("--micro-batch-size") { Description = "examples per forward pass", DefaultValueFactory = _ => 8 };
        var accumulation = new Option<int>("--gradient-accumulation") { Description = "micro-batches per step", DefaultValueFactory = _ => 1 };
        var schedule = new Option<LearningRateSchedule>("--schedule") { Description = "constant, linear or cosine", DefaultValueFactory = _ => LearningRateSchedule.Cosine };
        var warmup = new Option<double>("--warmup-ratio") { Description = "warm-up share of the steps", DefaultValueFactory = _ => 0.03 };
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();
        var command = new Command("finetune", "LoRA fine-tuning on instruction data on this machine; writes a PEFT adapter.")
        {
            model, data, eval, output, overwrite, template, cutoff, trainOnInputs, rank, alpha, dropout, targets, epochs, steps, lr, batch, accumulation, schedule, warmup, seed, device,
        };
        command.SetAction((parse, ct) =>
        {
            var folder = parse.GetValue(model)!;
            var outFolder = parse.GetValue(output)!;
            CheckOutput(outFolder, parse.GetValue(overwrite));
            var tokenizer = TextTokenizer.FromPretrained(folder);
            var encoder = new ExampleEncoder(tokenizer, Prompter.Load(parse.GetValue(template)!),
                new ExampleEncoderOptions { MaxLength = parse.GetValue(cutoff), TrainOnInputs = parse.GetValue(trainOnInputs) });
            var train = encoder.EncodeAll(InstructionRecordReader.LoadAll(parse.GetValue(data)!));
            System.Console.WriteLine($"finetune: {train.Examples.Count} examples ({train.Truncated} truncated, {train.Dropped} dropped)");
            if (TruncationNote(train.Total, train.Truncated + train.Dropped, parse.GetValue(cutoff)) is { } note) AnsiConsole.MarkupLine($"[yellow]note:[/] {Markup.Escape(note)}");
            var held = parse.GetValue(eval) is { } evalPath ? encoder.EncodeAll(InstructionRecordReader.Load(evalPath)).Examples : null;

            using var llm = ModelFactory.LoadCausalLM(folder, device: Runtime.DeviceSelector.Parse(parse.GetValue(device)!));
            var config = new LoraConfig
            {
                Rank = parse.GetValue(rank), Alpha = parse.GetValue(alpha), Dropout = parse.GetValue(dropout),
                TargetModules = [.. parse.GetValue(targets)!], BaseModelNameOrPath = folder,
            };
            using (var g = new Generator((ulong)parse.GetValue(seed))) LoraModel.Attach(llm, config, g);
            var options = new TrainerOptions
            {
                LearningRate = parse.GetValue(lr), Epochs = parse.GetValue(epochs), MaxSteps = parse.GetValue(steps),
                MicroBatchSize = parse.GetValue(batch), GradientAccumulationSteps = parse.GetValue(accumulation),
                Schedule = parse.GetValue(schedule), WarmupRatio = parse.GetValue(warmup), Seed = parse.GetValue(seed),
                PadTokenId = tokenizer.PadId ?? 0, LogEvery = 1,
            };
            var before = held is null ? null : Evaluator.EvaluateLoss(llm, held, 16, tokenizer.PadId ?? 0);
            var trainer = new LocalTrainer(options);
            var total = trainer.TotalSteps(train.Examples.Count);
            var last = 0;
            TrainResult result;
            try
            {
                result = new TrainingProgressView("finetune").Run(total, p => trainer.Train(llm, train.Examples, x =>
                {
                    last = x.Step;
                    p(x);
                }, ct));
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // A partly trained adapter would look like a finished one; nothing is written.
                System.Console.WriteLine($"finetune: interrupted after step {last} of {total}; nothing was written. Run the same command again to train from the start.");
                return Task.FromResult(130);
            }
            PeftAdapter.Save(outFolder, llm, config);
            System.Console.WriteLine($"finetune: {result.Steps} steps, mean loss {result.MeanLoss:F4}, {result.Tokens / Math.Max(result.Seconds, 1e-9):F0} tok/s; adapter → {outFolder}");
            if (held is not null)
            {
                var after = Evaluator.EvaluateLoss(llm, held, 16, tokenizer.PadId ?? 0);
                System.Console.WriteLine($"finetune: eval loss {before!.MeanLoss:F4} → {after.MeanLoss:F4} (perplexity {before.Perplexity:F2} → {after.Perplexity:F2})");
            }
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>Refuses an output that training would end up unable to write, or would silently replace, before any training.</summary>
    internal static void CheckOutput(string folder, bool overwrite)
    {
        if (File.Exists(folder)) throw new ConfigException($"--out: '{folder}' is a file; the adapter is a folder (adapter_config.json + adapter_model.safetensors). Choose another path.");
        if (!overwrite && File.Exists(Path.Combine(folder, PeftAdapter.ConfigFile)))
            throw new ConfigException($"--out: '{folder}' already holds an adapter; pass --overwrite to replace it, or choose another folder.");
    }

    /// <summary>A warning when most examples lose tokens to the cutoff, with the two ways out.</summary>
    internal static string? TruncationNote(int total, int cut, int cutoffLen) =>
        total > 0 && cut * 2 > total
            ? $"{cut} of {total} examples lose tokens at --cutoff-len {cutoffLen}; raise --cutoff-len, or use a tokenizer with a larger vocabulary (fewer tokens per word)."
            : null;
}
