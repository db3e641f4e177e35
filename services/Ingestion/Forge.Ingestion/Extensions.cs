using Forge.Ingestion.Apis;
using Forge.Ingestion.Consumers;
using Forge.Ingestion.Domain;
using Forge.ServiceDefaults;
using MassTransit;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Forge.Ingestion;

public static class Extensions
{
    public static IHostApplicationBuilder AddIngestion(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IngestionStore>();
        builder.Services.AddScoped<BatchIngestor>();
        builder.Services.AddHostedService<UnpublishedBatchDispatcher>();
        return builder.AddForgeStorage();
    }

    public static IBusRegistrationConfigurator AddIngestionConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<RecordCleanedShardConsumer, RecordCleanedShardConsumerDefinition>();
        return bus;
    }

    public static IEndpointRouteBuilder MapIngestionApi(this IEndpointRouteBuilder routes)
    {
        routes.MapServiceInfo("ingestion", "POST /api/ingestion/datasets", "GET /api/ingestion/datasets/{id}", "POST /api/ingestion/datasets/{id}/documents");
        routes.MapDatasetsApi();
        return routes;
    }
}
