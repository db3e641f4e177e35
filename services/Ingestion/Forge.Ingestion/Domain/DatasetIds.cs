using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Forge.Ingestion.Domain;

/// <summary>What a dataset id may be, for the datasets API and for builds that create their dataset.</summary>
public static partial class DatasetIds
{
    public const string Rule = "A dataset id is 1 to 64 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit.";

    public static bool IsValid([NotNullWhen(true)] string? id) => !string.IsNullOrEmpty(id) && Pattern().IsMatch(id);

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex Pattern();
}
