using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;

namespace Forge.Tokenizer;

/// <summary>Trains byte-level BPE tokenizers and encodes dataset versions into token shards.</summary>
public static class Extensions
{
    public static IHostApplicationBuilder AddTokenizer(this IHostApplicationBuilder builder) => builder.AddForgeStorage();

    public static IEndpointRouteBuilder MapTokenizerApi(this IEndpointRouteBuilder routes)
    {
        routes.MapServiceInfo("tokenizer");
        return routes;
    }
}
