using Forge.Testing;

namespace Forge.Recipes.Tests;

/// <summary>A temporary folder that holds a recipe's files; recipes are read with it as their folder.</summary>
internal sealed class RecipeFolder : IDisposable
{
    private readonly TemporaryFolder _folder = new("recipes");

    public string Path => _folder.Path;

    public string PathOf(string relativePath) => System.IO.Path.Combine(Path, relativePath);

    /// <summary>Writes a file (its folders made as needed) and returns its absolute path.</summary>
    public string Write(string relativePath, string content = "Some text to train on.\n")
    {
        var path = PathOf(relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    public RecipeResult Read(string yaml) => RecipeReader.Read(yaml, Path);

    /// <summary>Reads a recipe that must have no errors.</summary>
    public Recipe ReadValid(string yaml)
    {
        var result = Read(yaml);
        Assert.True(result.Succeeded, "Unexpected errors:\n" + string.Join("\n", result.Errors));
        return result.Recipe;
    }

    public void Dispose() => _folder.Dispose();
}

internal static class RecipeAssert
{
    /// <summary>The one error at <paramref name="field"/>: at this line and column, its message holding <paramref name="says"/>.</summary>
    public static RecipeError HasError(RecipeResult result, int line, int column, string field, string says)
    {
        Assert.False(result.Succeeded);
        var error = Assert.Single(result.Errors, e => e.Field == field);
        Assert.True((line, column) == (error.Line, error.Column), $"Expected {field} at ({line},{column}), got {error}");
        Assert.Contains(says, error.Message, StringComparison.Ordinal);
        return error;
    }
}
