namespace Forge.Tokenizer.Domain;

/// <summary>
/// The configuration section "Builds": how long a build's command waits for a dataset version this service has not
/// heard of yet (its DatasetVersionSealed may still be on the way) before the build fails, and how often it looks.
/// </summary>
public sealed record VersionWaitOptions
{
    public const string Section = "Builds";

    public TimeSpan VersionWait { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan VersionRetryInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How many times the command is tried again before its wait is over.</summary>
    public int Retries => (int)Math.Ceiling(VersionWait / VersionRetryInterval);

    public VersionWaitOptions Validated() =>
        VersionRetryInterval > TimeSpan.Zero && VersionWait >= TimeSpan.Zero
            ? this
            : throw new InvalidOperationException($"{Section}:VersionRetryInterval must be positive and {Section}:VersionWait at least zero.");
}

/// <summary>A build's command names a dataset version not heard of yet: it is tried again shortly.</summary>
public sealed class DatasetVersionNotKnownException(string datasetVersion) : Exception($"Dataset version '{datasetVersion}' is not known here yet.");
