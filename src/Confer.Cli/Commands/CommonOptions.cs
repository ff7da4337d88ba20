using System.CommandLine;

namespace Confer.Cli.Commands;

/// <summary>Options shared by several commands, so they are spelled and documented the same way everywhere.</summary>
internal static class CommonOptions
{
    public const string DefaultModel = "models/confer-base";

    public static Option<string> Model() => new("--model", "-m")
    {
        Description = "model folder (HF layout: config.json, model.safetensors, tokenizer files)",
        DefaultValueFactory = _ => DefaultModel,
    };

    public static Option<long> Seed() => new("--seed") { Description = "random seed", DefaultValueFactory = _ => 42 };

    public static Option<string> Device() => new("--device") { Description = "cpu or cuda[:N]", DefaultValueFactory = _ => "cpu" };
}
