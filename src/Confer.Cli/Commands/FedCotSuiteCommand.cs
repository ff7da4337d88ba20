using System.CommandLine;
using Confer.Reasoning.Suites;

namespace Confer.Cli.Commands;

/// <summary>
/// <c>confer fedcot suite</c>: writes the built-in arithmetic suite (GSM8K JSON Lines per family) and the plain-text
/// corpora the shipped actor and encoder were pre-trained on, so those models can be rebuilt with <c>confer pretrain</c>.
/// </summary>
internal static class FedCotSuiteCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out", "-o") { Description = "output folder", Required = true };
        var train = new Option<int>("--train") { Description = "training questions per family", DefaultValueFactory = _ => 120 };
        var test = new Option<int>("--test") { Description = "test questions per family", DefaultValueFactory = _ => 80 };
        var seed = new Option<int>("--seed") { Description = "suite seed", DefaultValueFactory = _ => ArithmeticSuite.DefaultSeed };
        var corpus = new Option<int>("--corpus") { Description = "pre-training problems per family in actor_corpus.txt and encoder_corpus.txt (0 = none)", DefaultValueFactory = _ => 0 };
        var command = new Command("suite", "Write the built-in arithmetic suite (GSM8K format per family) and, with --corpus, the pre-training corpora of the shipped actor and encoder, and the encoder's digit-level WordPiece vocabulary.")
        {
            output, train, test, seed, corpus,
        };
        command.SetAction(parse =>
        {
            var folder = parse.GetValue(output)!;
            var suite = ArithmeticSuite.Create(parse.GetValue(train), parse.GetValue(test), parse.GetValue(seed));
            ArithmeticSuite.Write(suite, folder);
            System.Console.WriteLine($"suite: {suite.Datasets.Count} families × ({parse.GetValue(train)} train + {parse.GetValue(test)} test) → {folder}");
            if (parse.GetValue(corpus) is > 0 and var perFamily)
            {
                foreach (var purpose in new[] { "actor", "encoder" })
                {
                    var path = Path.Combine(folder, $"{purpose}_corpus.txt");
                    ArithmeticSuite.WriteCorpus(ArithmeticSuite.Corpus(purpose, perFamily), path);
                    System.Console.WriteLine($"corpus: {perFamily} problems per family → {path}");
                }
                var vocabFolder = Path.Combine(folder, "encoder_tokenizer");
                var texts = ArithmeticSuite.Corpus("encoder", perFamily).Select(p => p.Question + " " + p.Solution)
                    .Concat(suite.Datasets.SelectMany(d => d.Train.Concat(d.Test)).Select(r => r.Question + " " + r.Rationale));
                DigitWordPieceVocabulary.Write(texts, vocabFolder);
                System.Console.WriteLine($"encoder vocabulary (numbers split into digits) → {Path.Combine(vocabFolder, "vocab.txt")}");
            }
            return 0;
        });
        return command;
    }
}
