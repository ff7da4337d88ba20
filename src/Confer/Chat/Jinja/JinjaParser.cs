using System.Globalization;

namespace Confer.Chat.Jinja;

/// <summary>
/// Recursive-descent parser for the Jinja subset that chat templates use: <c>if/elif/else</c>, <c>for … in … [if …]</c>
/// with <c>loop</c> and <c>else</c>, <c>set</c> (also on a namespace attribute and as a block), <c>break</c>/<c>continue</c>,
/// <c>generation</c> blocks, and expressions with Jinja's precedence (filters and tests bind tightest). Other tags
/// (macro, call, include, extends, raw …) are errors that name the tag.
/// </summary>
internal sealed class JinjaParser
{
    private readonly List<JinjaToken> _tokens;
    private int _at;

    private JinjaParser(List<JinjaToken> tokens) => _tokens = tokens;

    public static IReadOnlyList<JinjaNode> Parse(string template)
    {
        var parser = new JinjaParser(JinjaLexer.Tokenize(template));
        var body = parser.ParseBody(out string? end);
        if (end is not null) throw new JinjaException($"unexpected '{{% {end} %}}'");
        return body;
    }

    private JinjaToken Peek => _tokens[_at];

    private JinjaToken Next() => _tokens[_at++];

    /// <summary>Statements up to the end or to a block tag that this level does not handle (returned in <paramref name="end"/>).</summary>
    private List<JinjaNode> ParseBody(out string? end, params string[] stops)
    {
        var nodes = new List<JinjaNode>();
        while (true)
        {
            var token = Next();
            switch (token.Kind)
            {
                case JinjaTokenKind.End:
                    end = null;
                    return nodes;
                case JinjaTokenKind.Text:
                    nodes.Add(new TextNode(token.Text));
                    break;
                case JinjaTokenKind.OutputStart:
                    nodes.Add(new OutputNode(ParseExpression()));
                    Expect(JinjaTokenKind.OutputEnd);
                    break;
                case JinjaTokenKind.BlockStart:
                    var keyword = ExpectName();
                    if (stops.Contains(keyword))
                    {
                        end = keyword;
                        return nodes;
                    }
                    nodes.Add(ParseStatement(keyword, token.Position));
                    break;
                default:
                    throw Error($"unexpected {token.Kind}", token);
            }
        }
    }

    private JinjaNode ParseStatement(string keyword, int position)
    {
        switch (keyword)
        {
            case "if": return ParseIf();
            case "for": return ParseFor();
            case "set": return ParseSet();
            case "break":
                Expect(JinjaTokenKind.BlockEnd);
                return new BreakNode();
            case "continue":
                Expect(JinjaTokenKind.BlockEnd);
                return new ContinueNode();
            case "generation":
                // transformers' AssistantTracker marks assistant text for masks; rendering is the body unchanged.
                Expect(JinjaTokenKind.BlockEnd);
                var body = ParseBody(out var end, "endgeneration");
                RequireEnd(end, "endgeneration");
                return new IfNode([(new LiteralExpr(true), body)], []);
            default:
                throw new JinjaException($"'{{% {keyword} %}}' at character {position} is not supported by Confer's Jinja subset " +
                                         "(supported: if, for, set, break, continue, generation)");
        }
    }

    private IfNode ParseIf()
    {
        var branches = new List<(JinjaExpr, IReadOnlyList<JinjaNode>)>();
        var condition = ParseExpression();
        while (true)
        {
            Expect(JinjaTokenKind.BlockEnd);
            var body = ParseBody(out var end, "elif", "else", "endif");
            branches.Add((condition, body));
            switch (end)
            {
                case "elif":
                    condition = ParseExpression();
                    continue;
                case "else":
                    Expect(JinjaTokenKind.BlockEnd);
                    var elseBody = ParseBody(out var endIf, "endif");
                    RequireEnd(endIf, "endif");
                    return new IfNode(branches, elseBody);
                default:
                    RequireEnd(end, "endif");
                    return new IfNode(branches, []);
            }
        }
    }

    private ForNode ParseFor()
    {
        var targets = new List<string> { ExpectName() };
        while (IsOperator(",")) { _at++; targets.Add(ExpectName()); }
        if (ExpectName() != "in") throw Error("expected 'in'", Peek);
        var items = ParseConditionalFree();
        JinjaExpr? filter = null;
        if (IsName("if")) { _at++; filter = ParseConditionalFree(); }
        Expect(JinjaTokenKind.BlockEnd);
        var body = ParseBody(out var end, "else", "endfor");
        IReadOnlyList<JinjaNode> elseBody = [];
        if (end == "else")
        {
            Expect(JinjaTokenKind.BlockEnd);
            elseBody = ParseBody(out end, "endfor");
        }
        RequireEnd(end, "endfor");
        return new ForNode(targets, items, filter, body, elseBody);
    }

    private JinjaNode ParseSet()
    {
        string name = ExpectName();
        string? attribute = null;
        if (IsOperator(".")) { _at++; attribute = ExpectName(); }
        if (Peek.Kind == JinjaTokenKind.BlockEnd && attribute is null)
        {
            _at++;
            var body = ParseBody(out var end, "endset");
            RequireEnd(end, "endset");
            return new SetBlockNode(name, body);
        }
        ExpectOperator("=");
        var value = ParseExpression();
        Expect(JinjaTokenKind.BlockEnd);
        return new SetNode(name, attribute, value);
    }

    private void RequireEnd(string? end, string expected)
    {
        if (end != expected) throw new JinjaException($"missing '{{% {expected} %}}'");
        Expect(JinjaTokenKind.BlockEnd);
    }

    // Expressions, loosest first.

    public JinjaExpr ParseExpression()
    {
        var value = ParseOr();
        if (!IsName("if")) return value;
        _at++;
        var condition = ParseOr();
        JinjaExpr? otherwise = null;
        if (IsName("else")) { _at++; otherwise = ParseExpression(); }
        return new ConditionalExpr(condition, value, otherwise);
    }

    /// <summary>For-loop headers: an <c>if</c> after the iterable is the loop filter, not a conditional expression.</summary>
    private JinjaExpr ParseConditionalFree() => ParseOr();

    private JinjaExpr ParseOr()
    {
        var left = ParseAnd();
        while (IsName("or")) { _at++; left = new BinaryExpr("or", left, ParseAnd()); }
        return left;
    }

    private JinjaExpr ParseAnd()
    {
        var left = ParseNot();
        while (IsName("and")) { _at++; left = new BinaryExpr("and", left, ParseNot()); }
        return left;
    }

    private JinjaExpr ParseNot()
    {
        if (!IsName("not")) return ParseCompare();
        _at++;
        return new UnaryExpr("not", ParseNot());
    }

    private JinjaExpr ParseCompare()
    {
        var left = ParseConcat();
        while (true)
        {
            if (Peek.Kind == JinjaTokenKind.Operator && Peek.Text is "==" or "!=" or "<" or ">" or "<=" or ">=")
                left = new BinaryExpr(Next().Text, left, ParseConcat());
            else if (IsName("in")) { _at++; left = new BinaryExpr("in", left, ParseConcat()); }
            else if (IsName("not") && _tokens[_at + 1] is { Kind: JinjaTokenKind.Name, Text: "in" })
            {
                _at += 2;
                left = new UnaryExpr("not", new BinaryExpr("in", left, ParseConcat()));
            }
            else return left;
        }
    }

    private JinjaExpr ParseConcat()
    {
        var left = ParseAdd();
        while (IsOperator("~")) { _at++; left = new BinaryExpr("~", left, ParseAdd()); }
        return left;
    }

    private JinjaExpr ParseAdd()
    {
        var left = ParseMultiply();
        while (Peek.Kind == JinjaTokenKind.Operator && Peek.Text is "+" or "-") left = new BinaryExpr(Next().Text, left, ParseMultiply());
        return left;
    }

    private JinjaExpr ParseMultiply()
    {
        var left = ParseUnary();
        while (Peek.Kind == JinjaTokenKind.Operator && Peek.Text is "*" or "/" or "//" or "%") left = new BinaryExpr(Next().Text, left, ParseUnary());
        return left;
    }

    private JinjaExpr ParseUnary()
    {
        if (Peek.Kind == JinjaTokenKind.Operator && Peek.Text is "-" or "+")
        {
            string op = Next().Text;
            return ParseFilters(new UnaryExpr(op, ParseUnary()));
        }
        var value = ParseFilters(ParsePostfix(ParsePrimary()));
        if (!IsOperator("**")) return value;
        _at++;
        return new BinaryExpr("**", value, ParseUnary());
    }

    private JinjaExpr ParsePrimary()
    {
        var token = Next();
        switch (token.Kind)
        {
            case JinjaTokenKind.String:
                var text = token.Text;
                while (Peek.Kind == JinjaTokenKind.String) text += Next().Text; // adjacent literals concatenate, as in Python
                return new LiteralExpr(text);
            case JinjaTokenKind.Integer:
                return new LiteralExpr(long.Parse(token.Text, CultureInfo.InvariantCulture));
            case JinjaTokenKind.Float:
                return new LiteralExpr(double.Parse(token.Text, CultureInfo.InvariantCulture));
            case JinjaTokenKind.Name:
                return token.Text switch
                {
                    "true" or "True" => new LiteralExpr(true),
                    "false" or "False" => new LiteralExpr(false),
                    "none" or "None" => new LiteralExpr(null),
                    _ => new NameExpr(token.Text),
                };
            case JinjaTokenKind.Operator when token.Text == "(":
                var inner = ParseExpression();
                if (IsOperator(","))
                {
                    var tuple = new List<JinjaExpr> { inner };
                    while (IsOperator(",")) { _at++; if (IsOperator(")")) break; tuple.Add(ParseExpression()); }
                    inner = new ListExpr(tuple);
                }
                ExpectOperator(")");
                return inner;
            case JinjaTokenKind.Operator when token.Text == "[":
                return new ListExpr(ParseList("]"));
            case JinjaTokenKind.Operator when token.Text == "{":
                var items = new List<(JinjaExpr, JinjaExpr)>();
                while (!IsOperator("}"))
                {
                    var key = ParseExpression();
                    ExpectOperator(":");
                    items.Add((key, ParseExpression()));
                    if (!IsOperator(",")) break;
                    _at++;
                }
                ExpectOperator("}");
                return new DictExpr(items);
            default:
                throw Error($"unexpected '{token.Text}'", token);
        }
    }

    private List<JinjaExpr> ParseList(string close)
    {
        var items = new List<JinjaExpr>();
        while (!IsOperator(close))
        {
            items.Add(ParseExpression());
            if (!IsOperator(",")) break;
            _at++;
        }
        ExpectOperator(close);
        return items;
    }

    private JinjaExpr ParsePostfix(JinjaExpr target)
    {
        while (true)
        {
            if (IsOperator("."))
            {
                _at++;
                target = new AttributeExpr(target, ExpectName());
            }
            else if (IsOperator("["))
            {
                _at++;
                target = ParseSubscript(target);
            }
            else if (IsOperator("("))
            {
                _at++;
                var (args, kwargs) = ParseArguments();
                target = new CallExpr(target, args, kwargs);
            }
            else return target;
        }
    }

    private JinjaExpr ParseSubscript(JinjaExpr target)
    {
        JinjaExpr? start = IsOperator(":") ? null : ParseExpression();
        if (IsOperator("]"))
        {
            _at++;
            return new IndexExpr(target, start!);
        }
        ExpectOperator(":");
        JinjaExpr? stop = IsOperator(":") || IsOperator("]") ? null : ParseExpression();
        JinjaExpr? step = null;
        if (IsOperator(":"))
        {
            _at++;
            if (!IsOperator("]")) step = ParseExpression();
        }
        ExpectOperator("]");
        return new SliceExpr(target, start, stop, step);
    }

    private (List<JinjaExpr> Args, List<(string, JinjaExpr)> Kwargs) ParseArguments()
    {
        var args = new List<JinjaExpr>();
        var kwargs = new List<(string, JinjaExpr)>();
        while (!IsOperator(")"))
        {
            if (Peek.Kind == JinjaTokenKind.Name && _tokens[_at + 1] is { Kind: JinjaTokenKind.Operator, Text: "=" })
            {
                string name = Next().Text;
                _at++;
                kwargs.Add((name, ParseExpression()));
            }
            else args.Add(ParseExpression());
            if (!IsOperator(",")) break;
            _at++;
        }
        ExpectOperator(")");
        return (args, kwargs);
    }

    private JinjaExpr ParseFilters(JinjaExpr target)
    {
        while (true)
        {
            if (IsOperator("|"))
            {
                _at++;
                string name = ExpectName();
                var (args, kwargs) = IsOperator("(") ? ParseCallArguments() : ([], []);
                target = new FilterExpr(target, name, args, kwargs);
            }
            else if (IsName("is"))
            {
                _at++;
                bool negated = IsName("not");
                if (negated) _at++;
                string name = Peek.Kind == JinjaTokenKind.Operator && Peek.Text is "==" or "!=" or "<" or ">" or "<=" or ">=" ? Next().Text : ExpectName();
                List<JinjaExpr> args = [];
                if (IsOperator("(")) args = ParseCallArguments().Args;
                else if (Peek.Kind is JinjaTokenKind.String or JinjaTokenKind.Integer or JinjaTokenKind.Float ||
                         (Peek.Kind == JinjaTokenKind.Name && !IsName("and") && !IsName("or") && !IsName("else") && !IsName("if") && !IsName("in") && !IsName("not")))
                    args = [ParsePostfix(ParsePrimary())];
                target = new TestExpr(target, name, args, negated);
            }
            else return target;
        }
    }

    private (List<JinjaExpr> Args, List<(string, JinjaExpr)> Kwargs) ParseCallArguments()
    {
        _at++;
        return ParseArguments();
    }

    private bool IsOperator(string op) => Peek.Kind == JinjaTokenKind.Operator && Peek.Text == op;

    private bool IsName(string name) => Peek.Kind == JinjaTokenKind.Name && Peek.Text == name;

    private string ExpectName()
    {
        var token = Next();
        return token.Kind == JinjaTokenKind.Name ? token.Text : throw Error($"expected a name, found '{token.Text}'", token);
    }

    private void ExpectOperator(string op)
    {
        var token = Next();
        if (token.Kind != JinjaTokenKind.Operator || token.Text != op) throw Error($"expected '{op}', found '{token.Text}'", token);
    }

    private void Expect(JinjaTokenKind kind)
    {
        var token = Next();
        if (token.Kind != kind) throw Error($"expected {kind}, found {token.Kind} '{token.Text}'", token);
    }

    private static JinjaException Error(string what, JinjaToken at) => new($"{what} at character {at.Position}");
}
