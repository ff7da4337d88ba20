using System.CommandLine;
using Confer.Chat;
using Confer.Cli.Console;
using Confer.Models;
using Confer.Peft;
using Confer.Tokenizers;
using Confer.Training.Generation;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer generate</c>: prompt in, text out, from a model folder and optionally a PEFT adapter. Decoding defaults
/// come from the folder's generation_config.json when it has one (as in transformers), else greedy; with
/// <c>--chat</c> each prompt is a user turn in the model's own chat format.
/// </summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var adapter = new Option<string?>("--adapter") { Description = "PEFT adapter folder to apply (adapter_config.json + adapter_model.safetensors)" };
        var prompt = new Option<string[]>("--prompt", "-p") { Description = "prompt text (repeat for a batch); reads stdin lines when omitted", AllowMultipleArgumentsPerToken = false };
        var chat = new Option<bool>("--chat") { Description = "each prompt is a user message, rendered with the model's chat template (tokenizer_config.json); prints the reply" };
        var system = new Option<string?>("--system") { Description = "system message before each --chat prompt" };
        var maxNew = new Option<int?>("--max-new-tokens") { Description = "tokens to generate per prompt (default: generation_config.json's max_new_tokens, else 128)" };
        var temperature = new Option<double?>("--temperature") { Description = "0 = greedy (default: generation_config.json's when it samples, else greedy)" };
        var topK = new Option<int?>("--top-k") { Description = "keep the k most likely tokens, 0 = off (default: generation_config.json's)" };
        var topP = new Option<double?>("--top-p") { Description = "nucleus sampling mass (default: generation_config.json's, else 1)" };
        var repetition = new Option<double?>("--repetition-penalty") { Description = "> 1 discourages repeated tokens, 1 = off (default: generation_config.json's, else 1)" };
        var stop = new Option<string[]>("--stop") { Description = "stop string (repeatable)" };
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();
        var command = new Command("generate", "Generate text from a prompt with a model folder (and optional LoRA adapter).")
        {
            model, adapter, prompt, chat, system, maxNew, temperature, topK, topP, repetition, stop, seed, device,
        };
        command.SetAction(parse =>
        {
            var dev = Runtime.DeviceSelector.Parse(parse.GetValue(device)!);
            var folder = parse.GetValue(model)!;
            using var llm = ModelFactory.LoadCausalLM(folder, device: dev);
            foreach (var note in llm.LoadNotes) System.Console.Error.WriteLine($"note: {note}");
            if (parse.GetValue(adapter) is { } adapterFolder) PeftAdapter.Load(adapterFolder, llm);
            var tokenizer = TextTokenizer.FromPretrained(folder);
            var prompts = parse.GetValue(prompt) is { Length: > 0 } given ? given : ReadStdin();
            var options = Options(folder, parse.GetValue(temperature), parse.GetValue(topK), parse.GetValue(topP), parse.GetValue(maxNew), parse.GetValue(repetition)) with
            {
                StopStrings = parse.GetValue(stop) ?? [], Seed = parse.GetValue(seed),
            };
            var generator = new TextGenerator(llm, tokenizer);
            if (parse.GetValue(chat))
            {
                var turns = prompts.Select(p => (IReadOnlyList<ChatMessage>)(parse.GetValue(system) is { } s
                    ? [new ChatMessage("system", s), new ChatMessage("user", p)]
                    : [new ChatMessage("user", p)])).ToList();
                foreach (var (p, reply) in prompts.Zip(generator.GenerateChat(turns, options)))
                    System.Console.WriteLine(prompts.Length > 1 ? $"### {p}\n{reply}\n" : reply);
                return 0;
            }
            if (parse.GetValue(system) is not null) throw new ArgumentException("--system needs --chat.");
            var outputs = generator.Generate(prompts, options);
            foreach (var (p, o) in prompts.Zip(outputs)) System.Console.WriteLine(prompts.Length > 1 ? $"### {p}\n{p}{o}\n" : p + o);
            return 0;
        });
        return command;
    }

    /// <summary>Command-line values first, then the folder's generation_config.json, then greedy decoding of 128 tokens.</summary>
    private static GenerationOptions Options(string folder, double? temperature, int? topK, double? topP, int? maxNew, double? repetitionPenalty)
    {
        var defaults = new GenerationOptions();
        if (GenerationConfig.FromModelFolder(folder) is not { } config)
            return defaults with
            {
                Temperature = temperature ?? 0, TopK = topK ?? 0, TopP = topP ?? 1.0, MaxNewTokens = maxNew ?? defaults.MaxNewTokens,
                RepetitionPenalty = repetitionPenalty ?? 1.0,
            };
        foreach (var field in config.Unapplied)
            System.Console.Error.WriteLine($"note: {GenerationConfig.FileName}: {field} is not applied (Confer's decoder does not implement it)");
        var options = config.ApplyTo(defaults, temperature, topK, topP, maxNew, repetitionPenalty);
        System.Console.Error.WriteLine($"note: {GenerationConfig.FileName}: " +
            (options.Temperature > 0 ? $"sampling at temperature {options.Temperature}, top_k {options.TopK}, top_p {options.TopP}" : "greedy") +
            (options.RepetitionPenalty != 1 ? $", repetition_penalty {options.RepetitionPenalty}" : "") +
            (config.EosTokenIds is { } eos ? $", stop ids [{string.Join(", ", eos)}]" : ""));
        return options;
    }

    private static string[] ReadStdin()
    {
        var lines = new List<string>();
        while (System.Console.In.ReadLine() is { } line) if (line.Length > 0) lines.Add(line);
        if (lines.Count == 0) throw new ArgumentException("No prompt: pass --prompt \"...\" or pipe prompts on stdin.");
        return [.. lines];
    }
}
