using Forge.Model;
using Forge.ServiceDefaults;
using Forge.Trainer.Apis;
using Forge.Trainer.Consumers;
using Forge.Trainer.Domain;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Forge.Trainer;

/// <summary>Pretrains and fine-tunes GPT and LSTM models with TorchSharp; replicas share runs through leases.</summary>
public static class Extensions
{
    public static IHostApplicationBuilder AddTrainer(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(TrainerOptions.Section).Get<TrainerOptions>() ?? new TrainerOptions();
        TorchRuntime.ConfigureThreads(options.Threads);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<TrainerStore>();
        builder.Services.AddSingleton<RunLeases>();
        builder.Services.AddSingleton<FineTunes>();
        builder.Services.AddSingleton<RunWorker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RunWorker>());
        return builder.AddForgeStorage();
    }

    public static IBusRegistrationConfigurator AddTrainerConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<WakeTrainerConsumer>();
        bus.AddConsumer<FineTuneRequestedConsumer, FineTuneRequestedConsumerDefinition>();
        bus.AddConsumer<BuildCommandsConsumer>();
        return bus;
    }

    public static IEndpointRouteBuilder MapTrainerApi(this IEndpointRouteBuilder routes)
    {
        routes.MapServiceInfo("trainer", "POST|GET /api/trainer/runs", "GET /api/trainer/runs/{id}", "POST /api/trainer/runs/{id}/cancel", "POST /api/trainer/finetunes", "GET /api/trainer/device");
        routes.MapGet("/api/trainer/device", (TrainerOptions options) => TypedResults.Ok(TorchRuntime.Describe(options.Device)))
            .WithName("TrainerDevice")
            .WithSummary("The device this trainer trains on (CPU or CUDA), its threads and whether bf16 is available");
        routes.MapRunsApi();
        routes.MapFineTunesApi();
        return routes;
    }
}
