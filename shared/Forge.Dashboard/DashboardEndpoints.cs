using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Net.Http.Headers;

namespace Forge.Dashboard;

/// <summary>
/// The web dashboard: a single page (plain HTML, CSS and JavaScript, embedded in this assembly) served at <c>/</c> and
/// <c>/dashboard/...</c> by whichever process is the public entry. The files are public; every API call they make
/// sends the user's key.
/// </summary>
public static class DashboardEndpoints
{
    public const string Prefix = "/dashboard";

    private static readonly Assembly Files = typeof(DashboardEndpoints).Assembly;
    private static readonly FileExtensionContentTypeProvider ContentTypes = new();
    // The assembly's version changes with every build, so a browser revalidates once per release.
    private static readonly string Tag = $"\"{Files.ManifestModule.ModuleVersionId:N}\"";

    public static IEndpointRouteBuilder MapForgeDashboard(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/", (HttpContext context) => Serve(context, "index.html")).ExcludeFromDescription();
        routes.MapGet(Prefix, (HttpContext context) => Serve(context, "index.html")).ExcludeFromDescription();
        routes.MapGet(Prefix + "/{**file}", (string? file, HttpContext context) => Serve(context, string.IsNullOrEmpty(file) ? "index.html" : file))
            .ExcludeFromDescription();
        return routes;
    }

    private static IResult Serve(HttpContext context, string file)
    {
        var stream = Files.GetManifestResourceStream("dashboard/" + file);
        if (stream is null)
            return TypedResults.NotFound();
        if (!ContentTypes.TryGetContentType(file, out var contentType))
            contentType = "application/octet-stream";
        var headers = context.Response.Headers;
        headers.CacheControl = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        headers[HeaderNames.ContentSecurityPolicy] = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'";
        return TypedResults.Stream(stream, contentType, entityTag: new EntityTagHeaderValue(Tag));
    }
}
