using Forge.Cleaning.Apis;
using Forge.Cleaning.Consumers;
using Forge.Cleaning.Domain;
using Forge.Cleaning.Pipeline;
using Forge.ServiceDefaults;
using MassTransit;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Forge.Cleaning;

public static class Extensions
{
    public static IHostApplicationBuilder AddCleaning(this IHostApplicationBuilder builder)
    {
        var defaults = builder.Configuration.GetSection("Cleaning").Get<CleaningSettings>() ?? new CleaningSettings();
        if (defaults.Validate() is { } problem)
            throw new InvalidOperationException($"Cleaning:{problem.Field} {problem.Message}.");
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<CleaningStore>();
        builder.Services.AddSingleton(sp => new CleaningSettingsProvider(sp.GetRequiredService<CleaningStore>(), defaults));
        builder.Services.AddSingleton<Deduplicator>();
        builder.Services.AddSingleton<BatchCleaner>();
        builder.Services.AddScoped<VersionSealer>();
        builder.Services.AddSingleton((builder.Configuration.GetSection(SealWaitOptions.Section).Get<SealWaitOptions>() ?? new SealWaitOptions()).Validated());
        builder.Services.AddHostedService<CleaningStartup>();
        return builder.AddForgeStorage();
    }

    public static IBusRegistrationConfigurator AddCleaningConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<CleanIngestedDocumentsConsumer, CleanIngestedDocumentsConsumerDefinition>();
        bus.AddConsumer<ExcludeDeletedSourceConsumer>();
        bus.AddConsumer<RecordCleaningFailureConsumer>();
        bus.AddConsumer<ApplyCleaningSettingsConsumer, ApplyCleaningSettingsConsumerDefinition>();
        bus.AddConsumer<SealDatasetConsumer, SealDatasetConsumerDefinition>();
        return bus;
    }

    public static IEndpointRouteBuilder MapCleaningApi(this IEndpointRouteBuilder routes)
    {
        routes.MapServiceInfo("cleaning",
            "GET /api/cleaning/datasets/{id}/shards", "GET /api/cleaning/datasets/{id}/report", "GET|PUT /api/cleaning/datasets/{id}/settings",
            "POST|GET /api/cleaning/datasets/{id}/versions", "GET /api/cleaning/datasets/{id}/versions/{n}", "GET /api/cleaning/datasets/{id}/sources/{sourceId}/versions",
            "GET /api/cleaning/datasets/{id}/failures");
        routes.MapShardsApi();
        return routes;
    }

    /// <summary>Creates the cleaning collections' indexes when the service starts.</summary>
    private sealed class CleaningStartup(CleaningStore store) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => store.EnsureIndexesAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
