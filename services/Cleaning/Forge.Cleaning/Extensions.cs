using Forge.Cleaning.Apis;
using Forge.Cleaning.Consumers;
using Forge.Cleaning.Domain;
using Forge.ServiceDefaults;
using MassTransit;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Forge.Cleaning;

public static class Extensions
{
    public static IHostApplicationBuilder AddCleaning(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<CleaningStore>();
        builder.Services.AddSingleton<BatchCleaner>();
        return builder.AddForgeStorage();
    }

    public static IBusRegistrationConfigurator AddCleaningConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<CleanIngestedDocumentsConsumer, CleanIngestedDocumentsConsumerDefinition>();
        return bus;
    }

    public static IEndpointRouteBuilder MapCleaningApi(this IEndpointRouteBuilder routes)
    {
        routes.MapServiceInfo("cleaning", "GET /api/cleaning/datasets/{id}/shards");
        routes.MapShardsApi();
        return routes;
    }
}
