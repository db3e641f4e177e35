using Forge.Evaluator.Apis;
using Forge.Evaluator.Consumers;
using Forge.Evaluator.Domain;
using MassTransit;
using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Forge.Evaluator;

/// <summary>Scores outputs (BLEU, chrF, ROUGE), keeps task eval sets and evaluations, and announces model versions' scores.</summary>
public static class Extensions
{
    public static IHostApplicationBuilder AddEvaluator(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<EvaluatorStore>();
        builder.Services.AddSingleton<EvalSetLibrary>();
        builder.Services.AddScoped<EvaluationRecorder>();
        builder.Services.AddSingleton<EvalSetGenerator>();
        builder.Services.AddHostedService<EvaluatorStartup>();
        builder.Services.AddSingleton<HeldOutEvaluator>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<HeldOutEvaluator>());
        builder.Services.AddHostedService<HeldOutSweep>();
        return builder.AddForgeStorage();
    }

    public static IBusRegistrationConfigurator AddEvaluatorConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<MeasureRegisteredVersionConsumer>();
        bus.AddConsumer<StoreEvalSetConsumer>();
        bus.AddConsumer<EvaluateVersionConsumer, EvaluateVersionConsumerDefinition>();
        return bus;
    }

    public static IEndpointRouteBuilder MapEvaluatorApi(this IEndpointRouteBuilder routes)
    {
        routes.MapServiceInfo("evaluator",
            "POST /api/evaluator/metrics/bleu", "POST /api/evaluator/metrics/chrf", "POST /api/evaluator/metrics/rouge",
            "POST|GET /api/evaluator/evalsets/{name}", "GET /api/evaluator/evalsets",
            "POST /api/evaluator/evalsets/{name}/evaluations", "POST /api/evaluator/evalsets/{name}/generations",
            "GET /api/evaluator/evaluations", "GET /api/evaluator/evaluations/{id}", "POST /api/evaluator/models/{version}/export");
        routes.MapMetricsApi();
        routes.MapEvalSetsApi();
        routes.MapEvaluationsApi();
        routes.MapExportApi();
        return routes;
    }

    /// <summary>Creates the evaluator's indexes when the service starts.</summary>
    private sealed class EvaluatorStartup(EvaluatorStore store) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => store.EnsureIndexesAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
