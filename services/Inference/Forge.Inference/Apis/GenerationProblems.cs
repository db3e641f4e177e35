using Forge.Inference.Domain;
using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Forge.Inference.Apis;

/// <summary>
/// The problem responses of both APIs. The OpenAI-compatible one also carries OpenAI's <c>error</c> object
/// (message, type, param, code) in the problem, which is what OpenAI's SDKs read.
/// </summary>
public static class GenerationProblems
{
    public static ProblemHttpResult? From(Exception exception, HttpContext context, Func<string, string> fieldName, bool openAi) => exception switch
    {
        InvalidGenerationException invalid => WithError(Problems.Invalid(fieldName(invalid.Field), invalid.Message), openAi, "invalid_request_error", fieldName(invalid.Field), null),
        ModelNotServableException { Unknown: true } unknown => WithError(
            TypedResults.Problem(title: "Unknown model", detail: unknown.Message, statusCode: StatusCodes.Status404NotFound), openAi, "invalid_request_error", "model", "model_not_found"),
        ModelNotServableException notServable => WithError(
            TypedResults.Problem(title: "Model not servable", detail: notServable.Message, statusCode: StatusCodes.Status409Conflict), openAi, "invalid_request_error", "model", "model_not_ready"),
        TooManyGenerationsException busy => RetryLater(context, WithError(
            TypedResults.Problem(title: "Too many concurrent generations", detail: busy.Message, statusCode: StatusCodes.Status429TooManyRequests), openAi, "rate_limit_error", null, "concurrency_limit")),
        _ => null,
    };

    /// <summary>A 422 problem (and OpenAI error) for a field found wrong while reading the body.</summary>
    public static ProblemHttpResult Invalid(string field, string message, bool openAi) =>
        WithError(Problems.Invalid(field, message), openAi, "invalid_request_error", field, null);

    private static ProblemHttpResult RetryLater(HttpContext context, ProblemHttpResult problem)
    {
        context.Response.Headers.RetryAfter = "1";
        return problem;
    }

    private static ProblemHttpResult WithError(ProblemHttpResult problem, bool openAi, string type, string? param, string? code)
    {
        if (openAi)
        {
            problem.ProblemDetails.Extensions["error"] = new Dictionary<string, object?>
            {
                ["message"] = problem.ProblemDetails.Detail,
                ["type"] = type,
                ["param"] = param,
                ["code"] = code,
            };
        }
        return problem;
    }
}
