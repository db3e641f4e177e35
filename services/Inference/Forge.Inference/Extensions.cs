using Forge.Inference.Apis;
using Forge.Inference.Consumers;
using Forge.Inference.Domain;
using Forge.ServiceDefaults;
using MassTransit;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Forge.Inference;

/// <summary>Serves model versions: generation and chat with a KV cache, streamed over SSE, in Forge's API and OpenAI's.</summary>
public static class Extensions
{
    public static IHostApplicationBuilder AddInference(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(InferenceOptions.Section).Get<InferenceOptions>() ?? new InferenceOptions();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<InferenceStore>();
        builder.Services.AddSingleton<ModelCatalog>();
        builder.Services.AddSingleton<ModelCache>();
        builder.Services.AddSingleton<KeyConcurrency>();
        builder.Services.AddSingleton<TextGeneration>();
        builder.Services.AddHostedService<InferenceStartup>();
        return builder.AddForgeStorage();
    }

    public static IBusRegistrationConfigurator AddInferenceConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<ServedVersionsConsumer>();
        return bus;
    }

    public static IEndpointRouteBuilder MapInferenceApi(this IEndpointRouteBuilder routes)
    {
        routes.MapServiceInfo("inference",
            "POST /api/inference/completions", "POST /api/inference/chat", "GET /api/inference/generations", "GET /api/inference/generations/{id}",
            "GET /api/inference/models", "GET /v1/models", "POST /v1/completions", "POST /v1/chat/completions");
        routes.MapGenerationApi();
        routes.MapOpenAiApi();
        return routes;
    }

    /// <summary>Creates the indexes when the service starts.</summary>
    private sealed class InferenceStartup(InferenceStore store) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => store.EnsureIndexesAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
