using System.Text;

namespace Confer.Chat.Jinja;

/// <summary>
/// Renders a parsed template. Scoping follows Jinja: a <c>set</c> inside a loop body stays in that iteration (a
/// <c>namespace</c> carries state out), and <c>if</c> opens no scope.
/// </summary>
internal sealed class JinjaRenderer
{
    private readonly List<Dictionary<string, object?>> _scopes;
    private readonly StringBuilder _output = new();

    private JinjaRenderer(IReadOnlyDictionary<string, object?> variables) =>
        _scopes = [JinjaGlobals.Create(), new Dictionary<string, object?>(variables, StringComparer.Ordinal)];

    public static string Render(IReadOnlyList<JinjaNode> template, IReadOnlyDictionary<string, object?> variables)
    {
        var renderer = new JinjaRenderer(variables);
        renderer._scopes.Add(new(StringComparer.Ordinal));
        if (renderer.Execute(template) != Flow.Normal) throw new JinjaException("'break' or 'continue' outside a loop");
        return renderer._output.ToString();
    }

    private enum Flow { Normal, Break, Continue }

    private Flow Execute(IReadOnlyList<JinjaNode> nodes)
    {
        foreach (var node in nodes)
        {
            var flow = Execute(node);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    private Flow Execute(JinjaNode node)
    {
        switch (node)
        {
            case TextNode text:
                _output.Append(text.Text);
                return Flow.Normal;
            case OutputNode output:
                _output.Append(JinjaValues.ToText(Evaluate(output.Value)));
                return Flow.Normal;
            case IfNode branches:
                foreach (var (condition, body) in branches.Branches)
                    if (JinjaValues.Truthy(Evaluate(condition))) return Execute(body);
                return Execute(branches.Else);
            case ForNode loop:
                return ExecuteFor(loop);
            case SetNode set:
                Assign(set);
                return Flow.Normal;
            case SetBlockNode block:
                int mark = _output.Length;
                Execute(block.Body);
                _scopes[^1][block.Name] = _output.ToString(mark, _output.Length - mark);
                _output.Length = mark;
                return Flow.Normal;
            case BreakNode:
                return Flow.Break;
            case ContinueNode:
                return Flow.Continue;
            default:
                throw new JinjaException($"unknown node {node.GetType().Name}");
        }
    }

    private void Assign(SetNode set)
    {
        var value = Evaluate(set.Value);
        if (set.Attribute is null)
        {
            _scopes[^1][set.Name] = value;
            return;
        }
        if (Lookup(set.Name) is not JinjaNamespace ns) throw new JinjaException($"'{set.Name}.{set.Attribute}' can only be set on a namespace()");
        ns[set.Attribute] = value;
    }

    private Flow ExecuteFor(ForNode loop)
    {
        var items = JinjaFilters.Iterate(Evaluate(loop.Items)).ToList();
        if (loop.Filter is not null)
        {
            items = items.Where(item =>
            {
                _scopes.Add(Bind(loop.Targets, item));
                try { return JinjaValues.Truthy(Evaluate(loop.Filter)); }
                finally { _scopes.RemoveAt(_scopes.Count - 1); }
            }).ToList();
        }
        if (items.Count == 0) return Execute(loop.Else);
        for (int i = 0; i < items.Count; i++)
        {
            var scope = Bind(loop.Targets, items[i]);
            scope["loop"] = LoopInfo(items, i);
            _scopes.Add(scope);
            try
            {
                if (Execute(loop.Body) == Flow.Break) break;
            }
            finally
            {
                _scopes.RemoveAt(_scopes.Count - 1);
            }
        }
        return Flow.Normal;
    }

    private static Dictionary<string, object?> Bind(IReadOnlyList<string> targets, object? item)
    {
        var scope = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (targets.Count == 1)
        {
            scope[targets[0]] = item;
            return scope;
        }
        var parts = JinjaFilters.Iterate(item).ToList();
        if (parts.Count != targets.Count) throw new JinjaException($"cannot unpack {parts.Count} values into {targets.Count} loop variables");
        for (int i = 0; i < targets.Count; i++) scope[targets[i]] = parts[i];
        return scope;
    }

    private static Dictionary<string, object?> LoopInfo(List<object?> items, int i) => new(StringComparer.Ordinal)
    {
        ["index0"] = (long)i,
        ["index"] = (long)(i + 1),
        ["revindex0"] = (long)(items.Count - 1 - i),
        ["revindex"] = (long)(items.Count - i),
        ["first"] = i == 0,
        ["last"] = i == items.Count - 1,
        ["length"] = (long)items.Count,
        ["previtem"] = i > 0 ? items[i - 1] : JinjaUndefined.Instance,
        ["nextitem"] = i < items.Count - 1 ? items[i + 1] : JinjaUndefined.Instance,
    };

    private object? Lookup(string name)
    {
        for (int i = _scopes.Count - 1; i >= 0; i--)
            if (_scopes[i].TryGetValue(name, out var value)) return value;
        return JinjaUndefined.Instance;
    }

    private object? Evaluate(JinjaExpr expr) => expr switch
    {
        LiteralExpr literal => literal.Value,
        NameExpr name => Lookup(name.Name),
        ListExpr list => list.Items.Select(Evaluate).ToList(),
        DictExpr dict => dict.Items.Aggregate(new Dictionary<string, object?>(StringComparer.Ordinal), (d, kv) =>
        {
            d[JinjaValues.ToText(Evaluate(kv.Key))] = Evaluate(kv.Value);
            return d;
        }),
        AttributeExpr attribute => JinjaMembers.Attribute(Evaluate(attribute.Target), attribute.Name),
        IndexExpr index => JinjaMembers.Item(Evaluate(index.Target), Evaluate(index.Index)),
        SliceExpr slice => JinjaMembers.Slice(Evaluate(slice.Target), Optional(slice.Start), Optional(slice.Stop), Optional(slice.Step)),
        CallExpr call => Call(call),
        FilterExpr filter => JinjaFilters.Apply(filter.Name, Evaluate(filter.Target), filter.Args.Select(Evaluate).ToList(), Kwargs(filter.Kwargs)),
        TestExpr test => JinjaTests.Apply(test.Name, Evaluate(test.Target), test.Args.Select(Evaluate).ToList()) != test.Negated,
        UnaryExpr unary => Unary(unary),
        BinaryExpr binary => Binary(binary),
        ConditionalExpr conditional => JinjaValues.Truthy(Evaluate(conditional.Condition))
            ? Evaluate(conditional.Then)
            : conditional.Else is null ? JinjaUndefined.Instance : Evaluate(conditional.Else),
        _ => throw new JinjaException($"unknown expression {expr.GetType().Name}"),
    };

    private object? Optional(JinjaExpr? expr) => expr is null ? null : Evaluate(expr);

    private Dictionary<string, object?> Kwargs(IReadOnlyList<(string Name, JinjaExpr Value)> kwargs) =>
        kwargs.ToDictionary(kv => kv.Name, kv => Evaluate(kv.Value), StringComparer.Ordinal);

    private object? Call(CallExpr call)
    {
        var target = Evaluate(call.Target);
        if (target is not JinjaFunction function)
        {
            string what = call.Target is NameExpr n ? $"'{n.Name}'" : call.Target is AttributeExpr a ? $"'.{a.Name}'" : "value";
            throw new JinjaException($"{what} is not a function Confer's Jinja subset knows");
        }
        return function(call.Args.Select(Evaluate).ToList(), Kwargs(call.Kwargs));
    }

    private object? Unary(UnaryExpr unary)
    {
        var value = Evaluate(unary.Operand);
        return unary.Operator switch
        {
            "not" => !JinjaValues.Truthy(value),
            "-" => value is long l ? (object)(-l) : -JinjaValues.ToDouble(value),
            _ => value is long or double ? value : JinjaValues.ToDouble(value),
        };
    }

    private object? Binary(BinaryExpr binary)
    {
        if (binary.Operator == "and")
        {
            var left = Evaluate(binary.Left);
            return JinjaValues.Truthy(left) ? Evaluate(binary.Right) : left;
        }
        if (binary.Operator == "or")
        {
            var left = Evaluate(binary.Left);
            return JinjaValues.Truthy(left) ? left : Evaluate(binary.Right);
        }
        var a = Evaluate(binary.Left);
        var b = Evaluate(binary.Right);
        return binary.Operator switch
        {
            "==" => JinjaValues.Equals(a, b),
            "!=" => !JinjaValues.Equals(a, b),
            "<" => JinjaValues.Compare(a, b) < 0,
            ">" => JinjaValues.Compare(a, b) > 0,
            "<=" => JinjaValues.Compare(a, b) <= 0,
            ">=" => JinjaValues.Compare(a, b) >= 0,
            "in" => JinjaTests.Contains(b, a),
            "~" => JinjaValues.ToText(a) + JinjaValues.ToText(b),
            _ => JinjaArithmetic.Apply(binary.Operator, a, b),
        };
    }
}
