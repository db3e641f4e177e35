using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Forge.Recipes;

/// <summary>
/// One thing wrong with a recipe, at the 1-based line and column of the YAML node that holds it.
/// <paramref name="Field"/> is a dotted path such as <c>model.heads</c> or <c>data.sources[1].path</c>; it is empty
/// for YAML syntax errors.
/// </summary>
public sealed record RecipeError(int Line, int Column, string Field, string Message)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"({Line},{Column}) {(Field.Length > 0 ? Field + ": " : "")}{Message}");
}

/// <summary>Either a recipe (when <see cref="Errors"/> is empty) or every error found, in file order.</summary>
public sealed record RecipeResult(Recipe? Recipe, IReadOnlyList<RecipeError> Errors)
{
    [MemberNotNullWhen(true, nameof(Recipe))]
    public bool Succeeded => Recipe is not null;
}
