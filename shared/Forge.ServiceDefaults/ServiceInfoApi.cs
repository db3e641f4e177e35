using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Forge.ServiceDefaults;

public sealed record ServiceInfo(string Service, string Version, string Bus, string Metadata, string Artifacts, IReadOnlyList<string> Endpoints);

public static class ServiceInfoApi
{
    /// <summary>GET /api/{service}: which service answers, in which mode, and what it offers.</summary>
    public static RouteHandlerBuilder MapServiceInfo(this IEndpointRouteBuilder routes, string service, params string[] endpoints) =>
        routes.MapGet($"/api/{service}", (ForgeOptions options) => TypedResults.Ok(new ServiceInfo(
                service,
                Assembly.GetEntryAssembly()?.GetName().Version?.ToString() ?? "0.0.0",
                options.Bus,
                options.Metadata,
                options.Artifacts,
                endpoints)))
            .WithName($"{service}-info")
            .WithSummary($"Describes the {service} service");
}
