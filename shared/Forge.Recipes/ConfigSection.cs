using System.Reflection;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Forge.Recipes;

/// <summary>
/// Reads a recipe section into one of Forge.Model's configuration records (GptConfig, TrainingConfig) through the
/// record's JSON contract: every settable property is a field under its camelCase name, so a property added to the
/// record is a recipe field at once, with the record's default. The record's own Problems() judge the values, and each
/// problem is reported at the field it names.
/// </summary>
internal static partial class ConfigSection
{
    /// <summary>
    /// A new record from <paramref name="defaults"/> with the fields the section sets; the fields in
    /// <paramref name="withheld"/> keep their defaults. The record is written in place, so it must be a fresh one.
    /// </summary>
    public static T Read<T>(YamlSection section, Func<T> defaults, params IReadOnlyList<string> withheld) where T : class
    {
        var config = defaults();
        foreach (var property in Properties(typeof(T)))
        {
            if (withheld.Contains(property.Name) || section.Get(property.Name) is not { } node)
                continue;
            if (Value(node, property.PropertyType, section.Field(property.Name), section.Errors) is { } value)
                property.Set!(config, value);
        }
        return config;
    }

    /// <summary>
    /// Reports each problem at the first field it names that the recipe sets, else the first field it names, with the
    /// record's property names (Heads) written as the recipe's (heads).
    /// </summary>
    public static void Report(YamlSection section, Type type, IEnumerable<string> problems)
    {
        var fields = Properties(type).ToDictionary(property => ((MemberInfo)property.AttributeProvider!).Name, property => property.Name, StringComparer.Ordinal);
        foreach (var problem in problems)
        {
            var named = PascalCaseWord().Matches(problem).Select(word => word.Value).Where(fields.ContainsKey).Select(word => fields[word]).Distinct().ToList();
            var message = PascalCaseWord().Replace(problem, word => fields.GetValueOrDefault(word.Value, word.Value));
            if ((named.FirstOrDefault(section.Has) ?? named.FirstOrDefault()) is { } field)
                section.Report(field, message);
            else
                section.Report(message);
        }
    }

    [GeneratedRegex(@"\b[A-Z][A-Za-z0-9]*\b")]
    private static partial Regex PascalCaseWord();

    private static IEnumerable<JsonPropertyInfo> Properties(Type type) =>
        RecipeJson.Options.GetTypeInfo(type).Properties.Where(property => property.Set is not null);

    private static object? Value(YamlNode node, Type type, string field, RecipeErrors errors)
    {
        if (type == typeof(int))
            return YamlScalars.Integer(node, field, errors, int.MinValue, int.MaxValue) is { } whole ? (int)whole : null;
        if (type == typeof(long))
            return YamlScalars.Integer(node, field, errors, long.MinValue, long.MaxValue);
        if (type == typeof(double))
            return YamlScalars.Real(node, field, errors);
        if (type == typeof(bool))
            return YamlScalars.Bool(node, field, errors);
        if (type == typeof(string))
            return YamlScalars.Text(node, field, errors);
        if (type.IsEnum)
            return YamlScalars.Enum(node, type, field, errors);
        throw new NotSupportedException($"Recipes cannot set {field}: its type {type.Name} has no recipe form yet.");
    }
}
