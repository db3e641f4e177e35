using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;

namespace Forge.Orchestrator;

/// <summary>Runs recipes as builds and keeps the model registry.</summary>
public static class Extensions
{
    public static IHostApplicationBuilder AddOrchestrator(this IHostApplicationBuilder builder) => builder.AddForgeStorage();

    public static IEndpointRouteBuilder MapOrchestratorApi(this IEndpointRouteBuilder routes)
    {
        routes.MapServiceInfo("orchestrator");
        return routes;
    }
}
