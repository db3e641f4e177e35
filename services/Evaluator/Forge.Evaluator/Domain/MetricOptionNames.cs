using Forge.Metrics;

namespace Forge.Evaluator.Domain;

/// <summary>The option values the API and the command line accept, by sacrebleu's and rouge-score's names.</summary>
public static class MetricOptionNames
{
    public static IReadOnlyList<string> Tokenizers { get; } = ["13a", "none"];

    public static IReadOnlyList<string> Smoothings { get; } = ["exp", "floor", "add-k", "none"];

    public static IReadOnlyList<string> RougeTypes { get; } =
        [.. Enumerable.Range(1, 9).Select(n => $"rouge{n}"), Rouge.RougeL, Rouge.RougeLsum];

    private const string RougeTypeNames = "rouge1 to rouge9, rougeL or rougeLsum";

    public static BleuTokenizer? Tokenizer(string name) => name switch
    {
        "13a" => BleuTokenizer.ThirteenA,
        "none" => BleuTokenizer.None,
        _ => null,
    };

    public static BleuSmoothing? Smoothing(string name) => name switch
    {
        "exp" => BleuSmoothing.Exp,
        "floor" => BleuSmoothing.Floor,
        "add-k" => BleuSmoothing.AddK,
        "none" => BleuSmoothing.None,
        _ => null,
    };

    /// <summary>Why a list of ROUGE types is not usable, with the index of the offending entry; null when it is.</summary>
    public static (int? Index, string Message)? CheckRougeTypes(IReadOnlyList<string?> types)
    {
        if (types.Count == 0)
            return (null, $"is empty: name at least one of {RougeTypeNames}");
        for (var i = 0; i < types.Count; i++)
        {
            if (types[i] is not { } type || !RougeTypes.Contains(type, StringComparer.Ordinal))
                return (i, $"'{types[i]}' is not a ROUGE type: use {RougeTypeNames}");
            if (types.Take(i).Contains(type, StringComparer.Ordinal))
                return (i, $"'{type}' is named twice");
        }
        return null;
    }

    public static string List(IEnumerable<string> names) => string.Join(", ", names.Select(name => $"'{name}'"));
}
