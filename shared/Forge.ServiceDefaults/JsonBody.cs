using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Forge.ServiceDefaults;

/// <summary>
/// Reads a JSON object body strictly, so that a mistyped option is refused rather than silently ignored: malformed
/// JSON is 400, and a field of the wrong type or an unknown field is 422 naming its JSON path.
/// </summary>
public static class JsonBody
{
    private static readonly JsonSerializerOptions Strict = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter() },
    };

    public static async Task<(T? Value, ProblemHttpResult? Problem)> ReadAsync<T>(HttpRequest request, CancellationToken cancellationToken) where T : class
    {
        if (request.ContentType is { } contentType && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
            return (null, Problems.UnsupportedMediaType($"Send a JSON object (application/json), not {contentType}."));
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException e)
        {
            return (null, Problems.BadRequest("Malformed JSON", e.Message));
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                return (null, Problems.Invalid("$", "the body must be a JSON object"));
            try
            {
                return (document.Deserialize<T>(Strict), null);
            }
            catch (JsonException e)
            {
                return (null, Problems.Invalid(e.Path ?? "$", Explain(e.Message)));
            }
        }
    }

    // System.Text.Json's messages name .NET types; say what the client should send instead.
    private static string Explain(string message) => message switch
    {
        _ when message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal) => "is not a field of this request",
        _ when message.Contains("System.String", StringComparison.Ordinal) && message.Contains("List", StringComparison.Ordinal) => "must be an array of strings",
        _ when message.Contains("List", StringComparison.Ordinal) => "must be an array",
        _ when message.Contains("System.String", StringComparison.Ordinal) => "must be a string",
        _ when message.Contains("System.Boolean", StringComparison.Ordinal) => "must be true or false",
        _ when message.Contains("System.Int32", StringComparison.Ordinal) => "must be a whole number",
        _ when message.Contains("System.Double", StringComparison.Ordinal) => "must be a number",
        _ => "has the wrong JSON type",
    };
}
