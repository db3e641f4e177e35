namespace Forge.Cleaning.Domain;

/// <summary>
/// The configuration section "Builds": how long a build's seal command waits for its batches to be cleaned before the
/// build fails at cleaning, and how often it looks. Kept under RabbitMQ's 30-minute delivery acknowledgement timeout.
/// </summary>
public sealed record SealWaitOptions
{
    public const string Section = "Builds";

    public TimeSpan SealWait { get; init; } = TimeSpan.FromMinutes(20);
    public TimeSpan SealRetryInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How many times the command is tried again before its wait is over.</summary>
    public int Retries => (int)Math.Ceiling(SealWait / SealRetryInterval);

    public SealWaitOptions Validated() =>
        SealRetryInterval > TimeSpan.Zero && SealWait >= TimeSpan.Zero
            ? this
            : throw new InvalidOperationException($"{Section}:SealRetryInterval must be positive and {Section}:SealWait at least zero.");
}
