namespace Confer.Chat.Jinja;

/// <summary>Python's arithmetic on template values: int stays int (floor division and modulo round down), str and list concatenate and repeat.</summary>
internal static class JinjaArithmetic
{
    public static object? Apply(string op, object? a, object? b)
    {
        if (a is JinjaUndefined || b is JinjaUndefined) throw new JinjaException($"'{op}' on an undefined value");
        switch (op, a, b)
        {
            case ("+", string x, string y): return x + y;
            case ("+", List<object?> x, List<object?> y): return x.Concat(y).ToList();
            case ("*", string x, long n): return string.Concat(Enumerable.Repeat(x, (int)Math.Max(0, n)));
            case ("*", List<object?> x, long n): return Enumerable.Repeat(x, (int)Math.Max(0, n)).SelectMany(l => l).ToList();
        }
        if (a is not (long or double or bool) || b is not (long or double or bool))
            throw new JinjaException($"unsupported operand types for {op}: {JinjaValues.TypeName(a)} and {JinjaValues.TypeName(b)}");
        if (op == "/") return JinjaValues.ToDouble(a) / JinjaValues.ToDouble(b);
        if (a is double || b is double)
        {
            double x = JinjaValues.ToDouble(a), y = JinjaValues.ToDouble(b);
            return op switch
            {
                "+" => x + y,
                "-" => x - y,
                "*" => x * y,
                "//" => Math.Floor(x / y),
                "%" => x - y * Math.Floor(x / y),
                _ => Math.Pow(x, y),
            };
        }
        long p = (long)JinjaValues.ToDouble(a), q = (long)JinjaValues.ToDouble(b);
        if (q == 0 && op is "//" or "%") throw new JinjaException("integer division or modulo by zero");
        return op switch
        {
            "+" => p + q,
            "-" => p - q,
            "*" => p * q,
            "//" => (long)Math.Floor((double)p / q),
            "%" => ((p % q) + q) % q,
            _ when q >= 0 => (object)(long)Math.Pow(p, q),
            _ => Math.Pow(p, q),
        };
    }
}
