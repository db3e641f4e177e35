using Forge.Cleaning.Domain;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Forge.Cleaning.Apis;

public static class ShardsApi
{
    public static RouteGroupBuilder MapShardsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/cleaning").WithTags("Cleaning");
        group.MapGet("/datasets/{datasetId}/shards", ListShardsAsync).WithName("ListShards").WithSummary("The clean shards of a dataset, with counts and drop reasons");
        return group;
    }

    private static async Task<Ok<IReadOnlyList<CleanShard>>> ListShardsAsync(string datasetId, CleaningStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.Shards.FindAsync(s => s.DatasetId == datasetId, new() { SortBy = s => s.CleanedAt }, cancellationToken));
}
