using Forge.Storage.Artifacts;
using Forge.Testing;

namespace Forge.EndToEnd.Tests;

/// <summary>
/// The distributed mode for real: Ingestion, Cleaning and the gateway as separate processes, talking over the
/// RabbitMQ started by .ci/run (infra/rabbitmq.sh), with artifacts in S3 (moto_server, infra/s3-test-endpoint.sh).
/// Each service keeps its own metadata (database per service), as no MongoDB server can run here.
/// </summary>
public sealed class DistributedForge : IAsyncLifetime
{
    public const long BodyLimit = 256 * 1024;
    private readonly TemporaryFolder _data = new("distributed");
    private readonly List<ServiceProcess> _processes = [];
    private readonly string _run = Guid.NewGuid().ToString("N")[..12];

    public string? SkipReason { get; private set; }
    public HttpClient Gateway { get; private set; } = null!;
    public S3ArtifactStore Artifacts { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var (rabbit, rabbitReason) = TestServers.RabbitMq();
        var (s3, s3Reason) = TestServers.S3();
        if (rabbit is null || s3 is null)
        {
            SkipReason = rabbit is null ? rabbitReason : s3Reason;
            return;
        }
        var rabbitHost = rabbit.Split(':');
        var bucket = $"forge-e2e-{_run}";
        var shared = new Dictionary<string, string>
        {
            ["Forge__Bus"] = "rabbitmq",
            ["Forge__RabbitMq__Host"] = rabbitHost[0],
            ["Forge__RabbitMq__Port"] = rabbitHost[1],
            ["Forge__BusPrefix"] = $"e2e-{_run}",
            ["Forge__Artifacts"] = "s3",
            ["Forge__S3__Endpoint"] = s3,
            ["Forge__S3__Bucket"] = bucket,
            ["Forge__S3__AccessKey"] = "test",
            ["Forge__S3__SecretKey"] = "test",
            ["Forge__MaxRequestBodyBytes"] = BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        Artifacts = new S3ArtifactStore(new S3Options { Endpoint = s3, Bucket = bucket, AccessKey = "test", SecretKey = "test" });
        try
        {
            await StartServicesAsync(shared);
        }
        catch
        {
            // xunit does not dispose a fixture whose initialisation failed: stop what did start.
            await DisposeAsync();
            throw;
        }
    }

    private async Task StartServicesAsync(Dictionary<string, string> shared)
    {
        var ingestion = await StartAsync("ingestion", "services/Ingestion/Forge.Ingestion.Host", "Forge.Ingestion.Host", shared);
        var cleaning = await StartAsync("cleaning", "services/Cleaning/Forge.Cleaning.Host", "Forge.Cleaning.Host", shared);
        var gateway = await StartAsync("gateway", "gateway/Forge.Gateway", "Forge.Gateway", new Dictionary<string, string>
        {
            ["ReverseProxy__Clusters__ingestion__Destinations__primary__Address"] = ingestion.Address.ToString(),
            ["ReverseProxy__Clusters__cleaning__Destinations__primary__Address"] = cleaning.Address.ToString(),
            // The gateway is the first line: an oversized request is refused there, before it reaches a service.
            ["Forge__MaxRequestBodyBytes"] = BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        Gateway = new HttpClient { BaseAddress = gateway.Address, Timeout = TimeSpan.FromSeconds(30) };
    }

    public IReadOnlyList<ServiceProcess> Processes => _processes;

    private async Task<ServiceProcess> StartAsync(string name, string folder, string assembly, IReadOnlyDictionary<string, string> environment)
    {
        var settings = new Dictionary<string, string>(environment) { ["Forge__DataPath"] = Path.Combine(_data.Path, name) };
        var process = await ServiceProcess.StartAsync(name, folder, assembly, settings);
        _processes.Add(process);
        return process;
    }

    public async Task DisposeAsync()
    {
        Gateway?.Dispose();
        Artifacts?.Dispose();
        foreach (var process in _processes)
            await process.DisposeAsync();
        _data.Dispose();
    }
}
