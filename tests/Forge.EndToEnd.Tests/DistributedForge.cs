using System.Globalization;
using Forge.Storage.Artifacts;
using Forge.Testing;

namespace Forge.EndToEnd.Tests;

/// <summary>
/// The distributed mode for real: every service host and the gateway as separate processes, talking over the
/// RabbitMQ started by .ci/run (infra/rabbitmq.sh), with artifacts in S3 (moto_server, infra/s3-test-endpoint.sh).
/// Each service keeps its own metadata file (database per service), as no MongoDB server can run here; a service
/// started again after a kill opens the same file and consumes from the same queues.
/// </summary>
public sealed class DistributedForge : IAsyncLifetime
{
    public const long BodyLimit = 256 * 1024;

    /// <summary>The trainer's name in the leases and segments of the runs it trains.</summary>
    public const string TrainerReplica = "trainer-1";

    /// <summary>Every service a build goes through, by the name the gateway routes to, with its host project's folder.</summary>
    private static readonly (string Name, string Folder)[] Services =
    [
        ("ingestion", "services/Ingestion/Forge.Ingestion.Host"),
        ("cleaning", "services/Cleaning/Forge.Cleaning.Host"),
        ("tokenizer", "services/Tokenizer/Forge.Tokenizer.Host"),
        ("trainer", "services/Trainer/Forge.Trainer.Host"),
        ("evaluator", "services/Evaluator/Forge.Evaluator.Host"),
        ("orchestrator", "services/Orchestrator/Forge.Orchestrator.Host"),
        ("inference", "services/Inference/Forge.Inference.Host"),
        ("feedback", "services/Feedback/Forge.Feedback.Host"),
    ];

    private readonly TemporaryFolder _data = new("distributed");
    private readonly Dictionary<string, ServiceProcess> _processes = [];
    private readonly string _run = Guid.NewGuid().ToString("N")[..12];

    public string? SkipReason { get; private set; }
    public HttpClient Gateway { get; private set; } = null!;
    public string AdminKey { get; private set; } = "";
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
            ["Forge__RabbitMq__QueueExpiry"] = TestServers.QueueExpiry,
            ["Forge__RabbitMq__Port"] = rabbitHost[1],
            ["Forge__BusPrefix"] = $"e2e-{_run}",
            ["Forge__Artifacts"] = "s3",
            ["Forge__S3__Endpoint"] = s3,
            ["Forge__S3__Bucket"] = bucket,
            ["Forge__S3__AccessKey"] = "test",
            ["Forge__S3__SecretKey"] = "test",
            ["Forge__MaxRequestBodyBytes"] = BodyLimit.ToString(CultureInfo.InvariantCulture),
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
        // The services need nothing of each other to start, so they start together; the gateway needs their addresses.
        await Task.WhenAll(Services.Select(service => StartAsync(service.Name, service.Folder, SettingsOf(service.Name, shared))));
        var gatewaySettings = new Dictionary<string, string>
        {
            // The gateway is the first line: an oversized request is refused there, before it reaches a service.
            ["Forge__MaxRequestBodyBytes"] = BodyLimit.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (name, _) in Services)
            gatewaySettings[$"ReverseProxy__Clusters__{name}__Destinations__primary__Address"] = Service(name).Address.ToString();
        var gateway = await StartAsync("gateway", "gateway/Forge.Gateway", gatewaySettings);
        Gateway = new HttpClient { BaseAddress = gateway.Address, Timeout = TimeSpan.FromSeconds(30) };
        // The gateway's first start wrote the local admin key into its data folder; the tests send it with every request.
        AdminKey = (await File.ReadAllTextAsync(Path.Combine(_data.Path, "gateway", "admin.key"))).Trim();
        Gateway.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
    }

    /// <summary>The shared settings, plus work folders of their own (not the machine's shared temporary ones) where a service stages files.</summary>
    private Dictionary<string, string> SettingsOf(string service, Dictionary<string, string> shared)
    {
        var settings = new Dictionary<string, string>(shared);
        if (service == "trainer")
        {
            settings["Trainer__ReplicaId"] = TrainerReplica;
            settings["Trainer__WorkFolder"] = Path.Combine(_data.Path, "trainer-work");
            // One libtorch thread: the other core stays with the services that answer while a run trains.
            settings["Trainer__Threads"] = "1";
        }
        else if (service == "inference")
        {
            settings["Inference__WorkFolder"] = Path.Combine(_data.Path, "inference-work");
        }
        return settings;
    }

    public IReadOnlyCollection<ServiceProcess> Processes
    {
        get { lock (_processes) return [.. _processes.Values]; }
    }

    /// <summary>The running process of a service ("orchestrator", "trainer", ...; "gateway").</summary>
    public ServiceProcess Service(string name)
    {
        lock (_processes)
            return _processes[name];
    }

    /// <summary>
    /// Starts a service again (after <see cref="ServiceProcess.KillAsync"/>, or killing it first): the same stores, the
    /// same queues on the broker and the same address behind the gateway.
    /// </summary>
    public async Task<ServiceProcess> StartAgainAsync(string name)
    {
        var killed = Service(name);
        var started = await killed.StartAgainAsync();
        lock (_processes)
            _processes[name] = started;
        await killed.DisposeAsync();
        return started;
    }

    private async Task<ServiceProcess> StartAsync(string name, string folder, Dictionary<string, string> settings)
    {
        settings["Forge__DataPath"] = Path.Combine(_data.Path, name);
        var process = await ServiceProcess.StartAsync(name, folder, Path.GetFileName(folder), settings);
        lock (_processes)
            _processes[name] = process;
        return process;
    }

    public async Task DisposeAsync()
    {
        Gateway?.Dispose();
        Artifacts?.Dispose();
        foreach (var process in Processes)
            await process.DisposeAsync();
        _data.Dispose();
    }
}
