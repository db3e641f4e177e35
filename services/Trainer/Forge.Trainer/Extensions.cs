using Forge.Model;
using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace Forge.Trainer;

/// <summary>Pretrains and fine-tunes GPT and LSTM models with TorchSharp.</summary>
public static class Extensions
{
    public static IHostApplicationBuilder AddTrainer(this IHostApplicationBuilder builder)
    {
        TorchRuntime.ConfigureThreads(builder.Configuration.GetValue("Trainer:Threads", 0));
        return builder.AddForgeStorage();
    }

    public static IEndpointRouteBuilder MapTrainerApi(this IEndpointRouteBuilder routes)
    {
        routes.MapServiceInfo("trainer", "GET /api/trainer/device");
        routes.MapGet("/api/trainer/device", (IConfiguration configuration) => TypedResults.Ok(TorchRuntime.Describe(configuration["Trainer:Device"] ?? "auto")))
            .WithName("TrainerDevice")
            .WithSummary("The device this trainer trains on (CPU or CUDA), its threads and whether bf16 is available");
        return routes;
    }
}
