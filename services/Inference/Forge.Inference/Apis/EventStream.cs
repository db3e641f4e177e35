using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Forge.Inference.Apis;

/// <summary>Writes a Server-Sent Events response, flushing every event so each token reaches the client as it is made.</summary>
public sealed class EventStream
{
    private readonly HttpResponse _response;

    private EventStream(HttpResponse response) => _response = response;

    public static EventStream Start(HttpContext context, string generationId)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        response.Headers["X-Forge-Generation-Id"] = generationId;
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        return new EventStream(response);
    }

    /// <summary>One event: an optional event name and a data line (JSON, or OpenAI's literal [DONE]).</summary>
    public async Task WriteAsync(string data, string? eventName = null, CancellationToken cancellationToken = default)
    {
        var text = new StringBuilder();
        if (eventName is not null)
            text.Append("event: ").Append(eventName).Append('\n');
        text.Append("data: ").Append(data).Append("\n\n");
        await _response.WriteAsync(text.ToString(), Encoding.UTF8, cancellationToken);
        await _response.Body.FlushAsync(cancellationToken);
    }

    public Task WriteJsonAsync<T>(T value, JsonSerializerOptions json, string? eventName = null, CancellationToken cancellationToken = default) =>
        WriteAsync(JsonSerializer.Serialize(value, json), eventName, cancellationToken);
}
