using System.CommandLine;
using Confer.Cli.Console;
using Confer.Models;
using Confer.Peft;
using Confer.Tokenizers;
using Confer.Training.Generation;

namespace Confer.Cli.Commands;

/// <summary><c>confer generate</c>: prompt in, text out, from a model folder and optionally an adapter folder (LoRA, prompt tuning, bottleneck).</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var adapter = new Option<string?>("--adapter") { Description = "adapter folder to apply: PEFT LORA or PROMPT_TUNING, or Confer BOTTLENECK (adapter_config.json + adapter_model.safetensors)" };
        var prompt = new Option<string[]>("--prompt", "-p") { Description = "prompt text (repeat for a batch); reads stdin lines when omitted", AllowMultipleArgumentsPerToken = false };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "tokens to generate per prompt", DefaultValueFactory = _ => 128 };
        var temperature = new Option<double>("--temperature") { Description = "0 = greedy", DefaultValueFactory = _ => 0 };
        var topK = new Option<int>("--top-k") { Description = "keep the k most likely tokens (0 = off)" };
        var topP = new Option<double>("--top-p") { Description = "nucleus sampling mass", DefaultValueFactory = _ => 1.0 };
        var stop = new Option<string[]>("--stop") { Description = "stop string (repeatable)" };
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();
        var command = new Command("generate", "Generate text from a prompt with a model folder (and optional LoRA, prompt-tuning or bottleneck adapter).")
        {
            model, adapter, prompt, maxNew, temperature, topK, topP, stop, seed, device,
        };
        command.SetAction(parse =>
        {
            var dev = Runtime.DeviceSelector.Parse(parse.GetValue(device)!);
            var folder = parse.GetValue(model)!;
            using var llm = ModelFactory.LoadCausalLM(folder, device: dev);
            if (parse.GetValue(adapter) is { } adapterFolder) PeftAdapter.LoadAny(adapterFolder, llm);
            var tokenizer = TextTokenizer.FromPretrained(folder);
            var prompts = parse.GetValue(prompt) is { Length: > 0 } given ? given : ReadStdin();
            var options = new GenerationOptions
            {
                MaxNewTokens = parse.GetValue(maxNew), Temperature = parse.GetValue(temperature), TopK = parse.GetValue(topK),
                TopP = parse.GetValue(topP), StopStrings = parse.GetValue(stop) ?? [], Seed = parse.GetValue(seed),
            };
            var outputs = new TextGenerator(llm, tokenizer).Generate(prompts, options);
            foreach (var (p, o) in prompts.Zip(outputs)) System.Console.WriteLine(prompts.Length > 1 ? $"### {p}\n{p}{o}\n" : p + o);
            return 0;
        });
        return command;
    }

    private static string[] ReadStdin()
    {
        var lines = new List<string>();
        while (System.Console.In.ReadLine() is { } line) if (line.Length > 0) lines.Add(line);
        if (lines.Count == 0) throw new ArgumentException("No prompt: pass --prompt \"...\" or pipe prompts on stdin.");
        return [.. lines];
    }
}
