using Forge.Orchestrator.Apis;
using Forge.Orchestrator.Consumers;
using Forge.Orchestrator.Domain;
using Forge.ServiceDefaults;
using MassTransit;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Forge.Orchestrator;

/// <summary>Keeps the model registry (versions, gated promotion, rollback); runs recipes as builds as they arrive, and hyperparameter sweeps.</summary>
public static class Extensions
{
    public static IHostApplicationBuilder AddOrchestrator(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<RegistryStore>();
        builder.Services.AddSingleton(builder.Configuration.GetSection(RetrainingOptions.Section).Get<RetrainingOptions>() ?? new RetrainingOptions());
        builder.Services.AddScoped<ModelRegistry>();
        builder.Services.AddHostedService<RegistrySweeper>();
        builder.Services.AddHostedService<OrchestratorStartup>();
        builder.Services.AddSingleton<BuildStore>();
        builder.Services.AddScoped<BuildManager>();
        builder.Services.AddHostedService<BuildResumer>();
        builder.Services.AddSingleton<SweepStore>().AddScoped<SweepManager>().AddHostedService<SweepResumer>();
        builder.Services.AddSingleton<DashboardEvents>();
        return builder.AddForgeStorage();
    }

    public static IBusRegistrationConfigurator AddOrchestratorConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<RecordEvaluationConsumer, RecordEvaluationConsumerDefinition>();
        bus.AddConsumer<RegisterTrainedModelConsumer, RegisterTrainedModelConsumerDefinition>();
        bus.AddConsumer<RetrainFromFeedbackConsumer>();
        bus.AddConsumer<BuildEventsConsumer, BuildEventsConsumerDefinition>();
        bus.AddConsumer<SweepEventsConsumer, SweepEventsConsumerDefinition>();
        // Every replica relays every event to its own dashboard clients: a temporary queue per process, not one shared queue.
        bus.AddConsumer<RelayDashboardEventsConsumer>().Endpoint(e => { e.InstanceId = Environment.MachineName + "-" + Environment.ProcessId; e.Temporary = true; });
        return bus;
    }

    public static IEndpointRouteBuilder MapOrchestratorApi(this IEndpointRouteBuilder routes)
    {
        routes.MapServiceInfo("orchestrator",
            "POST|GET /api/orchestrator/models", "GET /api/orchestrator/models/{id}", "POST /api/orchestrator/models/{id}/metrics",
            "POST /api/orchestrator/models/{id}/promote", "POST /api/orchestrator/models/rollback",
            "GET /api/orchestrator/families", "GET /api/orchestrator/families/{model}", "PUT /api/orchestrator/families/{model}/policy",
            "POST|GET /api/orchestrator/builds", "GET /api/orchestrator/builds/{id}", "POST /api/orchestrator/builds/{id}/cancel", "POST /api/orchestrator/builds/{id}/retry",
            "POST|GET /api/orchestrator/sweeps", "GET /api/orchestrator/sweeps/{id}", "POST /api/orchestrator/sweeps/{id}/cancel",
            "GET /api/orchestrator/events");
        routes.MapModelsApi();
        routes.MapBuildsApi();
        routes.MapFamiliesApi();
        routes.MapSweepsApi();
        routes.MapEventsApi();
        return routes;
    }

    /// <summary>Creates the registry's indexes (the unique checkpoint identity among them) when the service starts.</summary>
    private sealed class OrchestratorStartup(RegistryStore store) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => store.EnsureIndexesAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
