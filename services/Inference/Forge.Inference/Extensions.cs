using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;

namespace Forge.Inference;

/// <summary>Generates text and chats with model versions.</summary>
public static class Extensions
{
    public static IHostApplicationBuilder AddInference(this IHostApplicationBuilder builder) => builder.AddForgeStorage();

    public static IEndpointRouteBuilder MapInferenceApi(this IEndpointRouteBuilder routes)
    {
        routes.MapServiceInfo("inference");
        return routes;
    }
}
