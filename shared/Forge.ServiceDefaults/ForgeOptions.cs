using Forge.Storage.Artifacts;
using Forge.Storage.Metadata;

namespace Forge.ServiceDefaults;

/// <summary>The configuration section "Forge": which bus and stores to use. Everything defaults to the embedded mode.</summary>
public sealed record ForgeOptions
{
    public const string Section = "Forge";

    /// <summary>Name used in logs and health output; each service host sets its own.</summary>
    public string ServiceName { get; init; } = "forge";

    /// <summary>"inmemory" (default) or "rabbitmq".</summary>
    public string Bus { get; init; } = "inmemory";

    /// <summary>"embedded" (default, a LiteDB file under DataPath) or "mongodb".</summary>
    public string Metadata { get; init; } = "embedded";

    /// <summary>"filesystem" (default, a folder under DataPath) or "s3".</summary>
    public string Artifacts { get; init; } = "filesystem";

    /// <summary>
    /// Lets several processes on one machine share the embedded metadata file (LiteDB's shared mode, a named mutex
    /// around every operation): slower, for local multi-process setups and tests without MongoDB.
    /// </summary>
    public bool MetadataShared { get; init; }

    /// <summary>Where the embedded stores keep their files.</summary>
    public string DataPath { get; init; } = ".forge";

    /// <summary>Prepended to every queue and exchange name, so several Forge installations (or test runs) can share one broker.</summary>
    public string BusPrefix { get; init; } = "";

    /// <summary>
    /// Logs go to standard error instead of standard output: for the `forge` command, whose standard output is its
    /// own (the JSON of `--json`, the progress and report) and must stay clean.
    /// </summary>
    public bool LogsToStandardError { get; init; }

    /// <summary>The largest request body a service accepts, in bytes.</summary>
    public long MaxRequestBodyBytes { get; init; } = 32L * 1024 * 1024;

    public RabbitMqOptions RabbitMq { get; init; } = new();
    public MongoOptions MongoDb { get; init; } = new();
    public S3Options S3 { get; init; } = new();
}

public sealed record RabbitMqOptions
{
    public string Host { get; init; } = "localhost";
    public ushort Port { get; init; } = 5672;
    public string VirtualHost { get; init; } = "/";
    public string Username { get; init; } = "guest";
    public string Password { get; init; } = "guest";

    /// <summary>
    /// When set, the broker deletes each of this installation's queues (error and skipped queues included) once it
    /// has had no consumer for this long. For throwaway installations, such as test runs under their own
    /// <see cref="ForgeOptions.BusPrefix"/>, whose queues would otherwise pile up in a shared broker and slow its
    /// every restart. Never set it for a real installation: a queue left without consumers for longer loses its messages.
    /// </summary>
    public TimeSpan? QueueExpiry { get; init; }
}
