using Microsoft.Data.Sqlite;

namespace Confer.Federation.Deployment;

/// <summary>One-line parameterised statements, so the store's methods read as their SQL.</summary>
internal static class SqliteCommands
{
    public static SqliteCommand Command(this SqliteConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }

    public static int Execute(this SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = connection.Command(sql);
        command.Bind(parameters);
        return command.ExecuteNonQuery();
    }

    public static object? Scalar(this SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = connection.Command(sql);
        command.Bind(parameters);
        return command.ExecuteScalar();
    }

    public static string? Pragma(this SqliteConnection connection, string pragma) => connection.Scalar("PRAGMA " + pragma)?.ToString();

    /// <summary>Sets the parameters, replacing those of the previous execution of a reused command; null binds NULL.</summary>
    public static void Bind(this SqliteCommand command, params (string Name, object? Value)[] parameters)
    {
        command.Parameters.Clear();
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value ?? DBNull.Value);
    }
}
