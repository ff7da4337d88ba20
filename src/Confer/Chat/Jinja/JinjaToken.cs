namespace Confer.Chat.Jinja;

internal enum JinjaTokenKind { Text, OutputStart, OutputEnd, BlockStart, BlockEnd, Name, String, Integer, Float, Operator, End }

/// <summary>One lexical token; <see cref="Position"/> is the character offset in the template, for error messages.</summary>
internal readonly record struct JinjaToken(JinjaTokenKind Kind, string Text, int Position);
