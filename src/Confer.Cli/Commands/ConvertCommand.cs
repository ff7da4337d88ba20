using System.CommandLine;
using Confer.Models.Llama2c;

namespace Confer.Cli.Commands;

/// <summary><c>confer convert llama2c</c>: a llama2.c checkpoint + tokenizer to a Hugging Face model folder.</summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "llama2.c .bin checkpoint (legacy fp32 or version-2 Q8_0)", Required = true };
        var tokenizer = new Option<string>("--tokenizer") { Description = "llama2.c tokenizer .bin (e.g. tok512.bin)", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "output HF model folder", Required = true };
        var llama2c = new Command("llama2c", "Convert a llama2.c checkpoint and tokenizer to an HF LLaMA folder (safetensors + tokenizer.model).")
        {
            checkpoint, tokenizer, output,
        };
        llama2c.SetAction(parse =>
        {
            var config = Llama2cConverter.ConvertToHf(parse.GetValue(checkpoint)!, parse.GetValue(tokenizer)!, parse.GetValue(output)!);
            System.Console.WriteLine($"converted: dim {config.Dim}, {config.Layers} layers, {config.Heads} heads ({config.KvHeads} kv), vocab {config.VocabSize} → {parse.GetValue(output)}");
            return 0;
        });
        return new Command("convert", "Convert models from other formats.") { llama2c };
    }
}
