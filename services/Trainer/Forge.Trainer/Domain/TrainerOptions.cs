namespace Forge.Trainer.Domain;

/// <summary>The configuration section "Trainer".</summary>
public sealed record TrainerOptions
{
    public const string Section = "Trainer";

    /// <summary>This replica's name in leases and events; defaults to host name and process id.</summary>
    public string? ReplicaId { get; init; }
    /// <summary>How many runs this replica trains at once.</summary>
    public int JobLimit { get; init; } = 1;
    /// <summary>How long a lease lasts without a heartbeat; after that another trainer may take the run over.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>How often a replica with room looks for queued runs and runs whose lease expired.</summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Checkpoints kept per run (the newest ones).</summary>
    public int KeepCheckpoints { get; init; } = 3;
    /// <summary>Where shards and checkpoints are staged on local disk.</summary>
    public string WorkFolder { get; init; } = Path.Combine(Path.GetTempPath(), "forge-trainer");
    /// <summary>"auto", "cpu", "cuda" or "cuda:N" for every run on this replica.</summary>
    public string Device { get; init; } = "auto";
    /// <summary>libtorch threads per run (0: one per core).</summary>
    public int Threads { get; init; }

    public string Replica => ReplicaId ?? $"{Environment.MachineName}-{Environment.ProcessId}";
}
