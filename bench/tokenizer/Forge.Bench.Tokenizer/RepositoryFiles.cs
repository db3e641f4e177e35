namespace Forge.Bench.Tokenizer;

/// <summary>
/// Files found by walking up from the current folder, then from the program's: either may be outside the repository,
/// as when the built benchmark is started from another folder.
/// </summary>
public static class RepositoryFiles
{
    public static string? FindUpwards(string relative)
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var folder = new DirectoryInfo(start); folder is not null; folder = folder.Parent)
            {
                var candidate = Path.Combine(folder.FullName, relative);
                if (File.Exists(candidate))
                    return candidate;
            }
        }
        return null;
    }
}
