using Forge.Cleaning;
using Forge.Dashboard;
using Forge.Evaluator;
using Forge.Feedback;
using Forge.Inference;
using Forge.Ingestion;
using Forge.Orchestrator;
using Forge.ServiceDefaults;
using Forge.ServiceDefaults.Security;
using Forge.Tokenizer;
using Forge.Trainer;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Forge.Cli;

/// <summary>
/// Every service in one process, on the in-memory bus, the embedded store and a local folder, answering on the
/// same public routes as the gateway does in the distributed mode.
/// </summary>
public static class EmbeddedHost
{
    /// <summary>The admin key the first start wrote (see Forge:Security:AdminKeyFile), or null when there is none to read.</summary>
    public static string? AdminKey(WebApplication app)
    {
        var path = app.Services.GetRequiredService<SecurityOptions>().AdminKeyPath(app.Services.GetRequiredService<ForgeOptions>());
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }

    /// <summary>
    /// Starts the host; when it cannot listen (the address is taken, as by another Forge), says so on standard error
    /// and returns the exit code 3 instead of throwing. Null when it started.
    /// </summary>
    public static async Task<int?> TryStartAsync(WebApplication app, string command, CancellationToken cancellationToken)
    {
        try
        {
            await app.StartAsync(cancellationToken);
            return null;
        }
        catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            await Console.Error.WriteLineAsync($"{command}: cannot listen: {e.Message} Another Forge may be running there: stop it, or pass --urls with another address (http://127.0.0.1:0 takes a free port).");
            return 3;
        }
    }

    public static WebApplication Build(string[] args, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (overrides is not null)
            builder.Configuration.AddInMemoryCollection(overrides);

        builder.AddServiceDefaults();
        builder.AddIngestion();
        builder.AddCleaning();
        builder.AddTokenizer();
        builder.AddTrainer();
        builder.AddEvaluator();
        builder.AddFeedback();
        builder.AddInference();
        builder.AddOrchestrator();
        builder.AddForgeSecurity(); // this process is the public entry, as the gateway is in the distributed mode
        builder.AddForgeBus(bus =>
        {
            bus.AddIngestionConsumers();
            bus.AddCleaningConsumers();
            bus.AddOrchestratorConsumers();
            bus.AddTrainerConsumers();
            bus.AddTokenizerConsumers();
            bus.AddEvaluatorConsumers();
            bus.AddInferenceConsumers();
            bus.AddFeedbackConsumers();
        });

        var app = builder.Build();

        app.MapDefaultEndpoints();
        app.UseForgeSecurity();
        app.MapApiKeysApi();
        app.MapForgeApiReference([]); // one process, one document: /openapi/v1.json
        app.MapIngestionApi();
        app.MapCleaningApi();
        app.MapTokenizerApi();
        app.MapTrainerApi();
        app.MapEvaluatorApi();
        app.MapFeedbackApi();
        app.MapInferenceApi();
        app.MapOrchestratorApi();
        app.MapForgeDashboard();
        MapGatewayCompatibleRoutes(app);
        return app;
    }

    /// <summary>The gateway's own routes, answered in-process: per-service health and the status list.</summary>
    private static void MapGatewayCompatibleRoutes(WebApplication app)
    {
        foreach (var service in ForgeServices.All)
            app.MapHealthEndpoints($"/health/{service}");
        // Every service shares this process, its bus and its stores, so one readiness report speaks for all of them.
        app.MapGet("/api/status", async Task<Ok<IReadOnlyList<ServiceStatus>>> (HttpContext context, HealthCheckService health) =>
            {
                var report = await health.CheckHealthAsync(check => check.Tags.Contains("ready"), context.RequestAborted);
                return TypedResults.Ok<IReadOnlyList<ServiceStatus>>(ForgeServices.All
                    .Select(service => new ServiceStatus(service, $"in-process ({context.Request.Host})", report.Status.ToString()))
                    .ToList());
            })
            .WithName("Status")
            .WithSummary("The services in this embedded host");
    }
}
