namespace Forge.Cli;

/// <summary>The API key the CLI sends to a running Forge: FORGE_API_KEY, else the admin key in the data folder.</summary>
public static class ApiKeyResolver
{
    public static string? FromEnvironment(string dataFolder)
    {
        if (Environment.GetEnvironmentVariable("FORGE_API_KEY") is { Length: > 0 } key)
            return key.Trim();
        var file = Path.Combine(Path.GetFullPath(dataFolder), "admin.key");
        return File.Exists(file) ? File.ReadAllText(file).Trim() : null;
    }
}
