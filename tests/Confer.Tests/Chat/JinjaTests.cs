using Confer.Chat.Jinja;

namespace Confer.Tests;

/// <summary>Jinja semantics chat templates rely on, each checked against what Jinja2 (trim_blocks, lstrip_blocks) prints.</summary>
public sealed class JinjaTests
{
    private static string Render(string template, Dictionary<string, object?>? variables = null) =>
        JinjaRenderer.Render(JinjaParser.Parse(template), variables ?? new Dictionary<string, object?>());

    [Fact]
    public void BlockTagsTrimTheirNewlineAndIndentButOutputTagsDoNot()
    {
        Assert.Equal("a\nb\n", Render("{% if true %}\n    a\n{% endif %}\nb\n".Replace("    a", "a")));
        Assert.Equal("x\n", Render("  {% if true %}\nx\n  {% endif %}\n"));
        Assert.Equal("  1\n", Render("  {{ 1 }}\n"));
        Assert.Equal("ab", Render("a  {{- '' -}}  \n b"));
        Assert.Equal("a\n", Render("a{# note #}\n\n"));
    }

    [Fact]
    public void LoopScopesSetButNamespacesCarryState()
    {
        var items = new Dictionary<string, object?> { ["xs"] = new List<object?> { 1L, 2L, 3L } };
        Assert.Equal("0|", Render("{% set n = 0 %}{% for x in xs %}{% set n = n + x %}{% endfor %}{{ n }}|", items));
        Assert.Equal("6", Render("{% set ns = namespace(n=0) %}{% for x in xs %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}", items));
        Assert.Equal("1:first 2 3:last ", Render("{% for x in xs %}{{ x }}{% if loop.first %}:first{% elif loop.last %}:last{% endif %} {% endfor %}", items));
        Assert.Equal("3,2,1", Render("{{ xs[::-1] | join(',') }}", items));
        Assert.Equal("[2, 3]", Render("{{ xs[1:] }}", items));
        Assert.Equal("13", Render("{% for x in xs if x != 2 %}{{ x }}{% endfor %}", items));
        Assert.Equal("1", Render("{% for x in xs %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}", items));
        Assert.Equal("none", Render("{% for x in [] %}{{ x }}{% else %}none{% endfor %}"));
    }

    [Fact]
    public void ExpressionsFollowPythonAndJinjaPrecedence()
    {
        Assert.Equal("<a>b", Render("{{ '<' + 'a' + '>' + ' b ' | trim }}"));
        Assert.Equal("True False True", Render("{{ x is not defined }} {{ none is not none }} {{ 'ab' in 'cabd' }}"));
        Assert.Equal("True", Render("{{ not 'x' in ['y'] }}"));
        Assert.Equal("b", Render("{{ 'a' if false else 'b' }}"));
        Assert.Equal("2 2.5 1 -1", Render("{{ 5 // 2 }} {{ 5 / 2 }} {{ 7 % 3 }} {{ -7 // 4 + 1 }}"));
        Assert.Equal("['a', 'b ']", Render("{{ 'a,b '.split(',') }}"));
        Assert.Equal("x", Render("{{ '\\n\\nx'.lstrip('\\n') }}"));
        Assert.Equal("{\"a\": [1, true, null], \"b\": \"é\\n\"}", Render("{{ {'a': [1, true, none], 'b': 'é\\n'} | tojson }}"));
        Assert.Equal("{\n  \"a\": 1\n}", Render("{{ {'a': 1} | tojson(indent=2) }}"));
        Assert.Equal("True", Render("{{ 'x' is string and 1 is number and [] is iterable }}"));
    }

    [Fact]
    public void UnsupportedFiltersTestsAndTagsAreErrors()
    {
        Assert.Contains("filter 'wordwrap'", Assert.Throws<JinjaException>(() => Render("{{ 'a' | wordwrap }}")).Message);
        Assert.Contains("test 'escaped'", Assert.Throws<JinjaException>(() => Render("{{ 'a' is escaped }}")).Message);
        Assert.Contains("include", Assert.Throws<JinjaException>(() => Render("{% include 'x' %}")).Message);
        Assert.Contains("undefined", Assert.Throws<JinjaException>(() => Render("{{ nothing.attr }}")).Message);
    }
}
