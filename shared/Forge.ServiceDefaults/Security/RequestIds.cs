using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Serilog.Context;

namespace Forge.ServiceDefaults.Security;

/// <summary>
/// Gives every request an id (the client's <c>X-Request-Id</c> when it sends a sane one, else a new one), returns it
/// in the response, and puts it on every log line written while the request runs. The gateway forwards the header,
/// so one id follows a request through the services and into Seq.
/// </summary>
public static class RequestIds
{
    public const string Header = "X-Request-Id";

    public static IApplicationBuilder UseRequestIds(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var id = context.Request.Headers[Header].FirstOrDefault();
        if (id is null || id.Length is 0 or > 128 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))
        {
            id = Guid.NewGuid().ToString("N");
            context.Request.Headers[Header] = id;
        }
        context.TraceIdentifier = id;
        context.Response.Headers[Header] = id;
        using (LogContext.PushProperty("RequestId", id))
            await next(context);
    });
}
