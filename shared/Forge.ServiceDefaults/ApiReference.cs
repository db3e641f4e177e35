using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Scalar.AspNetCore;

namespace Forge.ServiceDefaults;

/// <summary>The browsable API reference (Scalar) at /docs, over the OpenAPI documents of the services.</summary>
public static class ApiReference
{
    /// <summary>
    /// With <paramref name="services"/>, one document per service at /openapi/{service}.json (the gateway forwards each
    /// to its service's /openapi/v1.json); without, this process's own /openapi/v1.json.
    /// </summary>
    public static IEndpointRouteBuilder MapForgeApiReference(this IEndpointRouteBuilder routes, IReadOnlyList<string> services)
    {
        routes.MapScalarApiReference("/docs", options =>
        {
            options.WithTitle("Forge API").WithOpenApiRoutePattern("/openapi/{documentName}.json");
            options.AddPreferredSecuritySchemes("Bearer");
            if (services.Count == 0)
                options.AddDocument("v1", "Forge (every service)");
            foreach (var service in services)
                options.AddDocument(service, $"Forge {service}");
        });
        return routes;
    }
}
