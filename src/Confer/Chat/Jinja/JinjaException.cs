namespace Confer.Chat.Jinja;

/// <summary>A template that cannot be parsed or rendered (syntax, an unsupported feature, or <c>raise_exception</c>).</summary>
public sealed class JinjaException(string message) : Exception(message);
