using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Forge.Recipes;

/// <summary>The JSON form of recipes and of the configuration records in them: camelCase, enums as strings.</summary>
internal static class RecipeJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
    };

    /// <summary>An enum's values under the names JSON gives them (e.g. "gpt", "rotary").</summary>
    public static IReadOnlyList<(string Name, object Value)> EnumNames(Type type) =>
        [.. Enum.GetValues(type).Cast<object>().Select(value => (JsonSerializer.Serialize(value, type, Options).Trim('"'), value))];
}
