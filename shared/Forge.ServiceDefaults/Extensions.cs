using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Forge.ServiceDefaults.Security;
using Serilog;

namespace Forge.ServiceDefaults;

public static class Extensions
{
    public static ForgeOptions GetForgeOptions(this IHostApplicationBuilder builder) =>
        builder.Configuration.GetSection(ForgeOptions.Section).Get<ForgeOptions>() ?? new ForgeOptions();

    /// <summary>What every Forge service shares: logging, problem details, health checks, body limits and the stores.</summary>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder)
    {
        var options = builder.GetForgeOptions();
        builder.Services.AddSingleton(options);
        builder.Services.AddSerilog((services, logger) =>
        {
            logger.ReadFrom.Configuration(builder.Configuration)
                .Enrich.FromLogContext()
                .Enrich.WithProperty("Service", options.ServiceName)
                .WriteTo.Console(
                    outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Service} {SourceContext}: {Message:lj} {RequestId}{NewLine}{Exception}",
                    standardErrorFromLevel: options.LogsToStandardError ? Serilog.Events.LogEventLevel.Verbose : null);
            if (builder.Configuration["Seq:ServerUrl"] is { Length: > 0 } seqUrl)
                logger.WriteTo.Seq(seqUrl, apiKey: builder.Configuration["Seq:ApiKey"]);
        });
        builder.Services.AddProblemDetails(problems => problems.CustomizeProblemDetails = context =>
        {
            context.ProblemDetails.Extensions["traceId"] = context.HttpContext.TraceIdentifier;
            context.ProblemDetails.Instance ??= context.HttpContext.Request.Path;
            // Problems made from a bare status code (a proxy's 413, an unknown route's 404) still say what happened.
            context.ProblemDetails.Detail ??= context.ProblemDetails.Status == StatusCodes.Status413PayloadTooLarge
                ? $"The request body is larger than this server accepts ({options.MaxRequestBodyBytes} bytes, Forge:MaxRequestBodyBytes)."
                : ReasonPhrases.GetReasonPhrase(context.ProblemDetails.Status ?? StatusCodes.Status500InternalServerError);
        });
        builder.Services.AddExceptionHandler<ProblemExceptionHandler>();
        builder.Services.AddHealthChecks();
        // Every service describes its API at /openapi/v1.json; the gateway gathers them under /openapi/{service}.json and /docs.
        builder.Services.AddOpenApi(openApi => openApi.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = $"Forge {options.ServiceName}";
            document.Info.Description = "Every route needs an API key (Authorization: Bearer <key>) at the gateway; errors are RFC 9457 problem details.";
            return Task.CompletedTask;
        }));
        builder.Services.Configure<KestrelServerOptions>(kestrel => kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes);
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
            json.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
        });
        return builder;
    }

    /// <summary>The metadata and artifact stores chosen by configuration, with their readiness checks. Safe to call once per service in one host.</summary>
    public static IHostApplicationBuilder AddForgeStorage(this IHostApplicationBuilder builder)
    {
        if (builder.Properties.TryAdd(typeof(StorageRegistration), true))
            builder.Services.AddForgeStorage(builder.GetForgeOptions());
        return builder;
    }

    /// <summary>The error pipeline and the two health endpoints: /health/live (the process runs) and /health/ready (bus and stores answer).</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.UseRequestIds();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseSerilogRequestLogging();
        app.MapHealthEndpoints("/health");
        app.MapOpenApi();
        return app;
    }

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder routes, string prefix)
    {
        routes.MapHealthChecks($"{prefix}/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteHealthAsync });
        // MassTransit reports a bus that lost its broker as Degraded, which ASP.NET Core would answer 200: a service
        // without its broker is not ready.
        routes.MapHealthChecks($"{prefix}/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains("ready"),
            ResponseWriter = WriteHealthAsync,
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
        return routes;
    }

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString(),
            durationMs = report.TotalDuration.TotalMilliseconds,
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        }, cancellationToken: context.RequestAborted);
    }
}
