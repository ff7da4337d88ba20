using Confer.Data;

namespace Confer.Reasoning.Suites;

/// <summary>
/// One family of the built-in arithmetic suite: a word-problem template whose numbers are drawn from a seeded stream,
/// with the worked solution written as one equation per step (<c>12 + 7 = 19. 19 - 5 = 14.</c>). The five families
/// differ in story, operations and number of steps, so each client of the suite holds a distinct task, as each
/// hospital holds a distinct data set in the FedCoT paper.
/// </summary>
public sealed class ArithmeticFamily
{
    private readonly Func<Draw, Problem> _make;

    private ArithmeticFamily(string name, string description, Func<Draw, Problem> make)
    {
        Name = name;
        Description = description;
        _make = make;
    }

    /// <summary>Short name, used as the client's data-set name.</summary>
    public string Name { get; }

    /// <summary>What the problems ask, for reports.</summary>
    public string Description { get; }

    /// <summary>The five families, one per client of the default suite.</summary>
    public static IReadOnlyList<ArithmeticFamily> All { get; } =
    [
        new("collect", "add then subtract (a + b − c)", Collect),
        new("boxes", "multiply then add (a × b + c)", Boxes),
        new("change", "multiply then subtract from a payment (m − n × p)", Change),
        new("share", "divide then subtract (t ÷ k − e)", Share),
        new("farm", "three steps: multiply, subtract, multiply ((a × b − c) × d)", Farm),
    ];

    /// <summary>A problem from <paramref name="random"/>: the question, its worked solution and the final number.</summary>
    internal Problem Make(SplitMix64 random) => _make(new Draw(random));

    /// <summary>A generated problem. <see cref="Steps"/> are the solution's equations, each ending with a full stop.</summary>
    public sealed record Problem(string Question, IReadOnlyList<string> Steps, int Answer)
    {
        /// <summary>The worked solution as the actor is taught to write it: the steps, then "The answer is N."</summary>
        public string Solution => string.Join(" ", Steps) + $" The answer is {Answer}.";

        /// <summary>As a QA record: gold answer normalised, the steps as its reference rationale.</summary>
        public QaRecord ToRecord() => new(Question, null, AnswerExtractor.Number.Normalize(Answer.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            Rationale: string.Join(" ", Steps));
    }

    /// <summary>Draws numbers and words from one seeded stream.</summary>
    internal sealed class Draw(SplitMix64 random)
    {
        /// <summary>Uniform in [lo, hi].</summary>
        public int Int(int lo, int hi) => lo + random.NextInt(hi - lo + 1);

        public T Pick<T>(IReadOnlyList<T> items) => items[random.NextInt(items.Count)];
    }

    private static readonly (string Name, string Pronoun)[] People =
    [
        ("Ava", "She"), ("Ben", "He"), ("Chloe", "She"), ("Dan", "He"), ("Emma", "She"), ("Finn", "He"), ("Grace", "She"),
        ("Hugo", "He"), ("Ivy", "She"), ("Jack", "He"), ("Lena", "She"), ("Max", "He"), ("Nora", "She"), ("Omar", "He"),
        ("Rosa", "She"), ("Sam", "He"), ("Tara", "She"), ("Leo", "He"), ("Mia", "She"), ("Noah", "He"),
    ];

    private static readonly string[] Friends = ["a friend", "a neighbour", "a classmate", "a cousin", "the teacher", "the class"];

    private static readonly string[] Collectables = ["stickers", "marbles", "cards", "shells", "stamps", "coins", "beads", "buttons"];

    private static readonly (string Container, string Containers, string Things)[] Packs =
    [
        ("box", "boxes", "pens"), ("bag", "bags", "apples"), ("crate", "crates", "bottles"), ("jar", "jars", "cookies"),
        ("tray", "trays", "cups"), ("pack", "packs", "pencils"), ("basket", "baskets", "oranges"), ("shelf", "shelves", "books"),
    ];

    private static readonly (string One, string Many)[] Goods =
    [
        ("notebook", "notebooks"), ("ticket", "tickets"), ("sandwich", "sandwiches"), ("toy car", "toy cars"), ("plant", "plants"),
        ("magazine", "magazines"), ("ball", "balls"), ("scarf", "scarves"),
    ];

    private static readonly (string Things, string Person, string People)[] Shares =
    [
        ("cookies", "child", "children"), ("apples", "friend", "friends"), ("pencils", "student", "students"), ("cards", "player", "players"),
        ("grapes", "kid", "kids"), ("candies", "child", "children"), ("flowers", "girl", "girls"), ("stickers", "boy", "boys"),
    ];

    private static readonly (string Animal, string Animals, string Product)[] Farms =
    [
        ("hen", "hens", "eggs"), ("cow", "cows", "litres of milk"), ("tree", "trees", "apples"), ("bee hive", "bee hives", "jars of honey"),
        ("goat", "goats", "cups of milk"), ("duck", "ducks", "eggs"),
    ];

    private static Problem Collect(Draw d)
    {
        var (name, pronoun) = d.Pick(People);
        var things = d.Pick(Collectables);
        int a = d.Int(11, 69), b = d.Int(6, 39);
        var sum = a + b;
        var c = d.Int(3, Math.Min(sum - 1, 49));
        var answer = sum - c;
        var verb = d.Pick(["finds", "gets", "buys", "wins"]);
        return new Problem(
            $"{name} has {a} {things}. {pronoun} {verb} {b} more {things} and then gives {c} {things} to {d.Pick(Friends)}. How many {things} does {name} have now?",
            [$"{a} + {b} = {sum}.", $"{sum} - {c} = {answer}."], answer);
    }

    private static Problem Boxes(Draw d)
    {
        var (container, containers, things) = d.Pick(Packs);
        int a = d.Int(2, 9), b = d.Int(3, 14), c = d.Int(2, 29);
        var product = a * b;
        var answer = product + c;
        return new Problem(
            $"There are {a} {containers} of {things}. Each {container} holds {b} {things}, and there are {c} more {things} on the table. How many {things} are there in all?",
            [$"{a} * {b} = {product}.", $"{product} + {c} = {answer}."], answer);
    }

    private static Problem Change(Draw d)
    {
        var (name, pronoun) = d.Pick(People);
        var (one, many) = d.Pick(Goods);
        int n = d.Int(2, 7), p = d.Int(3, 14);
        var cost = n * p;
        var paid = ((cost / 10) + d.Int(1, 4)) * 10;
        var answer = paid - cost;
        return new Problem(
            $"A {one} costs {p} dollars. {name} buys {n} {many} and pays with {paid} dollars. How much change does {pronoun.ToLowerInvariant()} get?",
            [$"{n} * {p} = {cost}.", $"{paid} - {cost} = {answer}."], answer);
    }

    private static Problem Share(Draw d)
    {
        var (things, person, people) = d.Pick(Shares);
        int k = d.Int(2, 9), each = d.Int(4, 19);
        var total = k * each;
        var e = d.Int(1, each - 1);
        var answer = each - e;
        return new Problem(
            $"{total} {things} are shared equally among {k} {people}. Each {person} then {d.Pick(["gives away", "loses", "trades"])} {e} of them. How many {things} does each {person} have left?",
            [$"{total} / {k} = {each}.", $"{each} - {e} = {answer}."], answer);
    }

    private static Problem Farm(Draw d)
    {
        var (animal, animals, product) = d.Pick(Farms);
        int a = d.Int(2, 9), b = d.Int(2, 6);
        var daily = a * b;
        var c = d.Int(1, daily - 1);
        var left = daily - c;
        var days = d.Int(2, 6);
        var answer = left * days;
        return new Problem(
            $"A farm has {a} {animals} and each {animal} gives {b} {product} a day. The farmer uses {c} {product} a day. How many {product} are left over after {days} days?",
            [$"{a} * {b} = {daily}.", $"{daily} - {c} = {left}.", $"{left} * {days} = {answer}."], answer);
    }
}
