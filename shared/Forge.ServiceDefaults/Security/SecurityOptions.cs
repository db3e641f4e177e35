namespace Forge.ServiceDefaults.Security;

/// <summary>The configuration section "Forge:Security", read by the public entry (the gateway, or the embedded host).</summary>
public sealed record SecurityOptions
{
    public const string Section = "Forge:Security";

    /// <summary>Every route but health needs a key. Turn off only for a private development setup.</summary>
    public bool RequireApiKeys { get; init; } = true;

    /// <summary>Where the first start writes the local admin key; default <c>{DataPath}/admin.key</c>.</summary>
    public string? AdminKeyFile { get; init; }

    /// <summary>Requests per second each key may make on average...</summary>
    public double PermitsPerSecond { get; init; } = 50;

    /// <summary>...and in a burst.</summary>
    public int Burst { get; init; } = 100;

    public string AdminKeyPath(ForgeOptions forge) => AdminKeyFile ?? Path.Combine(forge.DataPath, "admin.key");
}
