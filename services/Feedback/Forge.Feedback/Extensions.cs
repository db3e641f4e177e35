using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;

namespace Forge.Feedback;

/// <summary>Collects ratings, corrections and preferences on generations.</summary>
public static class Extensions
{
    public static IHostApplicationBuilder AddFeedback(this IHostApplicationBuilder builder) => builder.AddForgeStorage();

    public static IEndpointRouteBuilder MapFeedbackApi(this IEndpointRouteBuilder routes)
    {
        routes.MapServiceInfo("feedback");
        return routes;
    }
}
