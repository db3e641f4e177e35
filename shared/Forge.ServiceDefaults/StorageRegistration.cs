using Forge.Storage.Artifacts;
using Forge.Storage.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Forge.ServiceDefaults;

internal static class StorageRegistration
{
    public static void AddForgeStorage(this IServiceCollection services, ForgeOptions options)
    {
        services.AddSingleton<IMetadataStore>(_ => options.Metadata.ToLowerInvariant() switch
        {
            "embedded" or "litedb" => new LiteDbMetadataStore(Path.Combine(options.DataPath, "metadata.db"), options.MetadataShared),
            "mongodb" or "mongo" => new MongoMetadataStore(options.MongoDb),
            var other => throw new InvalidOperationException($"Forge:Metadata '{other}' is not known; use 'embedded' or 'mongodb'."),
        });
        services.AddSingleton<IArtifactStore>(_ => options.Artifacts.ToLowerInvariant() switch
        {
            "filesystem" or "local" => new FileSystemArtifactStore(Path.Combine(options.DataPath, "artifacts")),
            "s3" or "minio" => new S3ArtifactStore(options.S3),
            var other => throw new InvalidOperationException($"Forge:Artifacts '{other}' is not known; use 'filesystem' or 's3'."),
        });
        services.AddHealthChecks()
            .Add(new HealthCheckRegistration("metadata-store", sp => new PingHealthCheck(sp.GetRequiredService<IMetadataStore>().PingAsync, options.Metadata), HealthStatus.Unhealthy, ["ready"]))
            .Add(new HealthCheckRegistration("artifact-store", sp => new PingHealthCheck(sp.GetRequiredService<IArtifactStore>().PingAsync, options.Artifacts), HealthStatus.Unhealthy, ["ready"]));
    }

    private sealed class PingHealthCheck(Func<CancellationToken, Task> ping, string description) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await ping(cancellationToken);
                return HealthCheckResult.Healthy(description);
            }
            catch (Exception e)
            {
                return HealthCheckResult.Unhealthy($"{description}: {e.Message}", e);
            }
        }
    }
}
