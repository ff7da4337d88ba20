namespace Confer.Chat.Jinja;

/// <summary>Statements of a parsed template.</summary>
internal abstract record JinjaNode;

internal sealed record TextNode(string Text) : JinjaNode;

internal sealed record OutputNode(JinjaExpr Value) : JinjaNode;

internal sealed record IfNode(IReadOnlyList<(JinjaExpr Condition, IReadOnlyList<JinjaNode> Body)> Branches, IReadOnlyList<JinjaNode> Else) : JinjaNode;

internal sealed record ForNode(IReadOnlyList<string> Targets, JinjaExpr Items, JinjaExpr? Filter, IReadOnlyList<JinjaNode> Body, IReadOnlyList<JinjaNode> Else) : JinjaNode;

/// <summary><c>{% set name = value %}</c>, or <c>{% set ns.attribute = value %}</c> when <see cref="Attribute"/> is given.</summary>
internal sealed record SetNode(string Name, string? Attribute, JinjaExpr Value) : JinjaNode;

/// <summary><c>{% set name %}…{% endset %}</c>: the rendered body becomes the value.</summary>
internal sealed record SetBlockNode(string Name, IReadOnlyList<JinjaNode> Body) : JinjaNode;

internal sealed record BreakNode : JinjaNode;

internal sealed record ContinueNode : JinjaNode;

/// <summary>Expressions.</summary>
internal abstract record JinjaExpr;

internal sealed record LiteralExpr(object? Value) : JinjaExpr;

internal sealed record NameExpr(string Name) : JinjaExpr;

internal sealed record ListExpr(IReadOnlyList<JinjaExpr> Items) : JinjaExpr;

internal sealed record DictExpr(IReadOnlyList<(JinjaExpr Key, JinjaExpr Value)> Items) : JinjaExpr;

internal sealed record AttributeExpr(JinjaExpr Target, string Name) : JinjaExpr;

internal sealed record IndexExpr(JinjaExpr Target, JinjaExpr Index) : JinjaExpr;

internal sealed record SliceExpr(JinjaExpr Target, JinjaExpr? Start, JinjaExpr? Stop, JinjaExpr? Step) : JinjaExpr;

internal sealed record CallExpr(JinjaExpr Target, IReadOnlyList<JinjaExpr> Args, IReadOnlyList<(string Name, JinjaExpr Value)> Kwargs) : JinjaExpr;

internal sealed record FilterExpr(JinjaExpr Target, string Name, IReadOnlyList<JinjaExpr> Args, IReadOnlyList<(string Name, JinjaExpr Value)> Kwargs) : JinjaExpr;

internal sealed record TestExpr(JinjaExpr Target, string Name, IReadOnlyList<JinjaExpr> Args, bool Negated) : JinjaExpr;

internal sealed record UnaryExpr(string Operator, JinjaExpr Operand) : JinjaExpr;

internal sealed record BinaryExpr(string Operator, JinjaExpr Left, JinjaExpr Right) : JinjaExpr;

internal sealed record ConditionalExpr(JinjaExpr Condition, JinjaExpr Then, JinjaExpr? Else) : JinjaExpr;
