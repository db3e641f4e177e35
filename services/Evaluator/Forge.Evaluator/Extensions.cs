using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;

namespace Forge.Evaluator;

/// <summary>Scores model versions (perplexity, BLEU, ROUGE) and gates promotion.</summary>
public static class Extensions
{
    public static IHostApplicationBuilder AddEvaluator(this IHostApplicationBuilder builder) => builder.AddForgeStorage();

    public static IEndpointRouteBuilder MapEvaluatorApi(this IEndpointRouteBuilder routes)
    {
        routes.MapServiceInfo("evaluator");
        return routes;
    }
}
