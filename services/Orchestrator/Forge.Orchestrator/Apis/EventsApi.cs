using System.Text;
using System.Text.Json;
using Forge.Orchestrator.Domain;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Forge.Orchestrator.Apis;

/// <summary>
/// <c>GET /api/orchestrator/events</c>: the bus events the dashboard shows live, as Server-Sent Events
/// (<c>event: TrainingRunProgressed</c>, <c>data: {json}</c>). The first event is <c>ready</c>; a comment line every
/// <see cref="KeepAlive"/> keeps proxies from closing a quiet stream. Read it with fetch() so the API key can be sent.
/// </summary>
public static class EventsApi
{
    public static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/orchestrator/events", StreamAsync)
            .WithTags("Events")
            .WithName("StreamEvents")
            .WithSummary("Server-Sent Events of training, build, registry, generation and feedback events, as they happen")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream");
        return routes;
    }

    private static async Task StreamAsync(HttpContext context, DashboardEvents events, IOptions<JsonOptions> json)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var serializer = json.Value.SerializerOptions;
        var aborted = context.RequestAborted;
        using var subscription = events.Subscribe();
        try
        {
            await WriteAsync(response, "event: ready\ndata: {}\n\n", aborted);
            while (true)
            {
                using (var quiet = CancellationTokenSource.CreateLinkedTokenSource(aborted))
                {
                    quiet.CancelAfter(KeepAlive);
                    try
                    {
                        await subscription.Reader.WaitToReadAsync(quiet.Token);
                    }
                    catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
                    {
                        await WriteAsync(response, ": keep-alive\n\n", aborted);
                        continue;
                    }
                }
                var batch = new StringBuilder();
                while (subscription.Reader.TryRead(out var item))
                    batch.Append("event: ").Append(item.Type).Append("\ndata: ").Append(JsonSerializer.Serialize(item.Data, item.Data.GetType(), serializer)).Append("\n\n");
                await WriteAsync(response, batch.ToString(), aborted);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away: nothing to finish.
        }
    }

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken cancellationToken)
    {
        await response.WriteAsync(text, Encoding.UTF8, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
