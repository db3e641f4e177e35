using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Forge.Recipes;

/// <summary>
/// Reads a recipe file: YAML syntax, the schema (unknown keys with a "did you mean", wrong types, ranges), model and
/// training sizes that cannot work, and the files the recipe names, all before anything runs. Every error found is
/// reported, in file order, at the line and column of the node at fault.
/// </summary>
public static class RecipeReader
{
    /// <summary>Reads a recipe file; its relative paths are relative to the file's folder. A missing recipe file throws.</summary>
    /// <param name="checkPaths">
    /// Whether the files the recipe names must exist here. False where they are another machine's (the ingestion
    /// service's, when it runs elsewhere): paths are still made absolute, against the recipe's folder.
    /// </param>
    public static RecipeResult ReadFile(string path, bool checkPaths = true)
    {
        var fullPath = Path.GetFullPath(path);
        return Read(File.ReadAllText(fullPath), Path.GetDirectoryName(fullPath)!, checkPaths);
    }

    /// <summary>Reads recipe YAML whose relative paths are relative to <paramref name="baseFolder"/>.</summary>
    /// <param name="checkPaths">Whether the files the recipe names must exist here (see <see cref="ReadFile"/>).</param>
    public static RecipeResult Read(string yaml, string baseFolder, bool checkPaths = true)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentException.ThrowIfNullOrEmpty(baseFolder);
        var errors = new RecipeErrors();
        var recipe = Load(yaml, errors) is { } root ? new RecipeParser(Path.GetFullPath(baseFolder), checkPaths, errors).Read(root) : null;
        return new RecipeResult(errors.Count == 0 ? recipe : null, errors.InFileOrder());
    }

    private static YamlMappingNode? Load(string yaml, RecipeErrors errors)
    {
        var scanner = new Scanner(new StringReader(yaml));
        var stream = new YamlStream();
        try
        {
            stream.Load(new Parser(scanner));
        }
        catch (YamlException e)
        {
            var duplicate = e.Message.StartsWith("Duplicate key ", StringComparison.Ordinal);
            errors.Add(e.Start, "", duplicate ? $"the key '{e.Message["Duplicate key ".Length..]}' appears twice in one mapping" : e.Message);
            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet 18 throws this, not a syntax error, when a flow list or mapping is left open across lines.
            errors.Add(scanner.CurrentPosition, "", "the YAML cannot be read from here: is a bracket or quote left open above?");
            return null;
        }

        switch (stream.Documents)
        {
            case []:
                errors.Add(Mark.Empty, "", "the recipe is empty: it needs at least a name and data");
                return null;
            case [_, var second, ..]:
                errors.Add(second.RootNode.Start, "", "a recipe is one YAML document: remove the '---' and what follows, or split the file");
                return null;
            case [{ RootNode: YamlMappingNode root }]:
                return root;
            default:
                var document = stream.Documents[0];
                errors.Add(document.RootNode.Start, "", $"a recipe is a mapping of fields (name: ..., data: ...), not {YamlScalars.Describe(document.RootNode)}");
                return null;
        }
    }
}
