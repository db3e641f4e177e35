using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Forge.ServiceDefaults;

/// <summary>RFC 9457 problem results that name what is wrong, shared by every service's endpoints.</summary>
public static class Problems
{
    /// <summary>422 naming the offending field (a JSON path such as <c>$[3].text</c>) or line.</summary>
    public static ProblemHttpResult Invalid(string field, string message) =>
        TypedResults.Problem(
            title: "Invalid request",
            detail: $"{field}: {message}",
            statusCode: StatusCodes.Status422UnprocessableEntity,
            extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [field] = [message] } });

    public static ProblemHttpResult BadRequest(string title, string detail) =>
        TypedResults.Problem(title: title, detail: detail, statusCode: StatusCodes.Status400BadRequest);

    public static ProblemHttpResult NotFound(string what, string id) =>
        TypedResults.Problem(title: $"Unknown {what}", detail: $"There is no {what} '{id}'.", statusCode: StatusCodes.Status404NotFound);

    public static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(title: "Conflict", detail: detail, statusCode: StatusCodes.Status409Conflict);

    public static ProblemHttpResult UnsupportedMediaType(string detail) =>
        TypedResults.Problem(title: "Unsupported media type", detail: detail, statusCode: StatusCodes.Status415UnsupportedMediaType);
}
