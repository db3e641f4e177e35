using Forge.Ingestion.Apis;
using Forge.Ingestion.Consumers;
using Forge.Ingestion.Domain;
using Forge.ServiceDefaults;
using MassTransit;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
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
        builder.Services.AddSingleton(builder.Configuration.GetSection(IngestionLimits.Section).Get<IngestionLimits>() ?? new IngestionLimits());
        builder.Services.AddScoped<BatchIngestor>();
        builder.Services.AddScoped<LocalFileIngestor>();
        builder.Services.AddHostedService<UnpublishedBatchDispatcher>();
        return builder.AddForgeStorage();
    }

    public static IBusRegistrationConfigurator AddIngestionConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<RecordCleanedShardConsumer, RecordCleanedShardConsumerDefinition>();
        bus.AddConsumer<IngestFilesConsumer, IngestFilesConsumerDefinition>();
        return bus;
    }

    public static IEndpointRouteBuilder MapIngestionApi(this IEndpointRouteBuilder routes)
    {
        routes.MapServiceInfo("ingestion",
            "POST /api/ingestion/datasets", "GET /api/ingestion/datasets/{id}", "POST /api/ingestion/datasets/{id}/documents",
            "POST /api/ingestion/datasets/{id}/text", "POST /api/ingestion/datasets/{id}/stream", "POST /api/ingestion/datasets/{id}/files",
            "GET /api/ingestion/datasets/{id}/sources", "DELETE /api/ingestion/datasets/{id}/sources/{name}");
        routes.MapDatasetsApi();
        routes.MapDocumentsApi();
        return routes;
    }
}
