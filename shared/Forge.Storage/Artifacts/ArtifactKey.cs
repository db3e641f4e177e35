namespace Forge.Storage.Artifacts;

/// <summary>Validates keys so that every implementation accepts exactly the same set.</summary>
public static class ArtifactKey
{
    public const int MaxLength = 512;

    public static void Validate(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0 || key.Length > MaxLength)
            throw new ArgumentException($"An artifact key must have 1 to {MaxLength} characters.", nameof(key));
        if (key[0] == '/' || key[^1] == '/')
            throw new ArgumentException($"Artifact key '{key}' must not start or end with '/'.", nameof(key));
        foreach (var segment in key.Split('/'))
        {
            if (segment.Length == 0 || segment == "." || segment == ".." || segment.StartsWith(".tmp", StringComparison.Ordinal))
                throw new ArgumentException($"Artifact key '{key}' has an empty, relative or reserved segment.", nameof(key));
        }
        foreach (var c in key)
        {
            if (char.IsControl(c) || c == '\\')
                throw new ArgumentException($"Artifact key '{key}' contains a control character or a backslash.", nameof(key));
        }
    }

    public static void ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Contains('\\') || prefix.StartsWith('/') || prefix.Split('/').Any(s => s is "." or ".."))
            throw new ArgumentException($"Artifact prefix '{prefix}' is not valid.", nameof(prefix));
    }
}
