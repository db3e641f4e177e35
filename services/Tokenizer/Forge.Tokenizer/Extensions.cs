using Forge.ServiceDefaults;
using Forge.Tokenizer.Apis;
using Forge.Tokenizer.Consumers;
using Forge.Tokenizer.Domain;
using MassTransit;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Forge.Tokenizer;

/// <summary>Trains byte-level BPE and character tokenizers and encodes dataset versions into token shards.</summary>
public static class Extensions
{
    public static IHostApplicationBuilder AddTokenizer(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<TokenizerStore>();
        builder.Services.AddSingleton<TokenizerJobs>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<TokenizerJobs>());
        builder.Services.AddSingleton((builder.Configuration.GetSection(VersionWaitOptions.Section).Get<VersionWaitOptions>() ?? new VersionWaitOptions()).Validated());
        return builder.AddForgeStorage();
    }

    public static IBusRegistrationConfigurator AddTokenizerConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<RecordSealedVersionConsumer>();
        bus.AddConsumer<TrainTokenizerConsumer, TrainTokenizerConsumerDefinition>();
        bus.AddConsumer<TokenizeDatasetConsumer, TokenizeDatasetConsumerDefinition>();
        return bus;
    }

    public static IEndpointRouteBuilder MapTokenizerApi(this IEndpointRouteBuilder routes)
    {
        routes.MapServiceInfo("tokenizer",
            "POST|GET /api/tokenizer/tokenizers", "GET|PUT /api/tokenizer/tokenizers/{id}", "GET /api/tokenizer/tokenizers/{id}/files/{name}",
            "POST /api/tokenizer/tokenizers/{id}/encode|decode", "POST /api/tokenizer/tokenizations", "GET /api/tokenizer/tokenizations/{version}/{tokenizer}");
        routes.MapTokenizersApi();
        return routes;
    }
}
