using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Forge.Recipes;

/// <summary>
/// Reads typed values from YAML nodes, reporting a value of the wrong type at its node. A scalar is judged by its
/// text, quoted or not, so "40" and 40 are both a number.
/// </summary>
internal static class YamlScalars
{
    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    /// <summary>How an error names a value: 'text', a list or a mapping.</summary>
    public static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode scalar => $"'{scalar.Value}'",
        YamlSequenceNode => "a list",
        _ => "a mapping",
    };

    public static string? Text(YamlNode node, string field, RecipeErrors errors)
    {
        if (node is YamlScalarNode { Value: { } text })
            return text;
        errors.Add(node, field, $"must be text, not {Describe(node)}");
        return null;
    }

    /// <summary>A whole number in [<paramref name="min"/>, <paramref name="max"/>] (its type's range); 1e4 and 2000.0 count as whole.</summary>
    public static long? Integer(YamlNode node, string field, RecipeErrors errors, long min, long max)
    {
        var whole = false;
        if (node is YamlScalarNode { Value: { } text }
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && real == Math.Floor(real))
        {
            whole = true;
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
                return value;
            // Below 1e18 a double converts to a long exactly, whatever the bounds.
            if (real >= min && real <= max && Math.Abs(real) < 1e18)
                return (long)real;
        }
        var range = whole ? string.Create(CultureInfo.InvariantCulture, $" from {min} to {max}") : "";
        errors.Add(node, field, $"must be a whole number{range}, not {Describe(node)}");
        return null;
    }

    public static double? Real(YamlNode node, string field, RecipeErrors errors)
    {
        if (node is YamlScalarNode { Value: { } text }
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value))
            return value;
        errors.Add(node, field, $"must be a number, not {Describe(node)}");
        return null;
    }

    public static bool? Bool(YamlNode node, string field, RecipeErrors errors)
    {
        switch ((node as YamlScalarNode)?.Value)
        {
            case "true" or "True" or "TRUE":
                return true;
            case "false" or "False" or "FALSE":
                return false;
            default:
                errors.Add(node, field, $"must be true or false, not {Describe(node)}");
                return null;
        }
    }

    /// <summary>A value of <paramref name="type"/> by its JSON name (gpt, rotary...), ignoring case.</summary>
    public static object? Enum(YamlNode node, Type type, string field, RecipeErrors errors)
    {
        var names = RecipeJson.EnumNames(type);
        return OneOf(node, [.. names.Select(pair => pair.Name)], field, errors) is { } name
            ? names.First(pair => pair.Name == name).Value
            : null;
    }

    /// <summary>One of <paramref name="values"/>, ignoring case, given as it is written there.</summary>
    public static string? OneOf(YamlNode node, IReadOnlyList<string> values, string field, RecipeErrors errors)
    {
        if (node is YamlScalarNode { Value: { } text } && values.FirstOrDefault(value => string.Equals(value, text, StringComparison.OrdinalIgnoreCase)) is { } known)
            return known;
        var hint = node is YamlScalarNode { Value: { } misspelt } ? Suggestions.DidYouMean(misspelt, values) : "";
        errors.Add(node, field, $"must be one of {string.Join(", ", values)}, not {Describe(node)}{hint}");
        return null;
    }
}
