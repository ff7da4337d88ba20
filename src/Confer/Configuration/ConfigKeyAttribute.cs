namespace Confer.Configuration;

/// <summary>Marks a settings property as a config key (its YAML/`--set` name) with a one-line description.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ConfigKeyAttribute(string name, string description) : Attribute
{
    public string Name { get; } = name;
    public string Description { get; } = description;
}
