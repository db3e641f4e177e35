using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Http.HttpResults;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace Forge.Gateway;

public static class StatusApi
{
    /// <summary>GET /api/status: every service cluster behind the gateway with the health of each destination, as the active health checks see it.</summary>
    public static RouteHandlerBuilder MapStatusApi(this IEndpointRouteBuilder routes) =>
        routes.MapGet("/api/status", (IProxyStateLookup proxy) => TypedResults.Ok<IReadOnlyList<ServiceStatus>>(proxy.GetClusters()
                .SelectMany(cluster => cluster.Destinations.Values.Select(destination => new ServiceStatus(
                    cluster.ClusterId,
                    destination.Model.Config.Address,
                    Describe(destination.Health))))
                .OrderBy(s => s.Service, StringComparer.Ordinal)
                .ToList()))
            .WithName("Status")
            .WithSummary("The services behind the gateway and their health");

    private static string Describe(DestinationHealthState health) => health.Active switch
    {
        DestinationHealth.Healthy => "Healthy",
        DestinationHealth.Unhealthy => "Unhealthy",
        _ => "Unknown",
    };
}
