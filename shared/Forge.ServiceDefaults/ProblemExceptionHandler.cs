using System.Text.Json;
using Forge.Storage;
using Forge.Storage.Artifacts;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;

namespace Forge.ServiceDefaults;

/// <summary>
/// Turns exceptions that reach the pipeline into RFC 9457 problem details: client errors keep their 4xx status
/// (an oversized body is 413), an unreachable artifact store is 503 and a full disk 507, both with Retry-After;
/// anything else is a 500 that does not leak internals.
/// </summary>
internal sealed class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } e =>
                (StatusCodes.Status413PayloadTooLarge, "Request body too large", e.Message),
            BadHttpRequestException e => (e.StatusCode, "Bad request", e.Message),
            JsonException e => (StatusCodes.Status400BadRequest, "Malformed JSON", e.Message),
            ProblemException e => (e.Status, e.Title, e.Message),
            ArtifactNotFoundException e => (StatusCodes.Status404NotFound, "Not found", e.Message),
            // Services reach each other only through the bus, so an HTTP failure inside one is its object storage (S3/MinIO).
            HttpRequestException =>
                (StatusCodes.Status503ServiceUnavailable, "Storage unavailable", "The artifact store could not be reached, so nothing was stored; retry later (with the same Idempotency-Key it stores once)."),
            _ when DiskFull.IsDiskFull(exception) =>
                (StatusCodes.Status507InsufficientStorage, "Insufficient storage", "The server's disk is full, so nothing was stored; retry once space is freed (with the same Idempotency-Key it stores once)."),
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested =>
                (499, "Client closed request", "The client went away."),
            _ => (StatusCodes.Status500InternalServerError, "Internal error", "The server failed to handle the request; see the service logs with this request's trace id."),
        };
        if (status >= 500)
            logger.LogError(exception, "Unhandled exception for {Method} {Path}", httpContext.Request.Method, httpContext.Request.Path);
        if (httpContext.Response.HasStarted)
            return false;
        httpContext.Response.StatusCode = status;
        if (status == StatusCodes.Status503ServiceUnavailable)
            httpContext.Response.Headers.RetryAfter = "5";
        else if (status == StatusCodes.Status507InsufficientStorage)
            httpContext.Response.Headers.RetryAfter = "60";
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }
}
