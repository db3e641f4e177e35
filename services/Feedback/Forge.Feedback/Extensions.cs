using Forge.Feedback.Apis;
using Forge.Feedback.Consumers;
using Forge.Feedback.Domain;
using Forge.ServiceDefaults;
using MassTransit;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Forge.Feedback;

/// <summary>Collects ratings, corrections and preferences on generations, turns them into training data, and asks for retraining when a model's policy says so.</summary>
public static class Extensions
{
    public static IHostApplicationBuilder AddFeedback(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton((builder.Configuration.GetSection(FeedbackOptions.Section).Get<FeedbackOptions>() ?? new FeedbackOptions()).Validated());
        builder.Services.AddSingleton<FeedbackStore>();
        builder.Services.AddSingleton<FeedbackExporter>();
        builder.Services.AddScoped<RetrainingTrigger>();
        builder.Services.AddScoped<FeedbackRecorder>();
        builder.Services.AddHostedService<FeedbackStartup>();
        builder.Services.AddSingleton<PendingRetrainingDispatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PendingRetrainingDispatcher>());
        return builder.AddForgeStorage();
    }

    public static IBusRegistrationConfigurator AddFeedbackConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<RecordGenerationConsumer, RecordGenerationConsumerDefinition>();
        bus.AddConsumer<FeedbackPolicyConsumer>();
        return bus;
    }

    public static IEndpointRouteBuilder MapFeedbackApi(this IEndpointRouteBuilder routes)
    {
        routes.MapServiceInfo("feedback",
            "POST|GET /api/feedback/generations/{generationId}", "GET /api/feedback/items",
            "GET /api/feedback/models/{model}/summary", "GET /api/feedback/models/{model}/export/sft",
            "GET /api/feedback/models/{model}/export/preferences", "GET /api/feedback/models/{model}/export/unpaired",
            "PUT|GET /api/feedback/models/{model}/policy", "GET /api/feedback/models/{model}/retrainings");
        routes.MapGenerationFeedbackApi();
        routes.MapModelFeedbackApi();
        routes.MapRetrainingApi();
        return routes;
    }

    /// <summary>Creates the feedback service's indexes when it starts.</summary>
    private sealed class FeedbackStartup(FeedbackStore store) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => store.EnsureIndexesAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
