using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Forge.Storage.Artifacts;
using Microsoft.Extensions.Logging;

namespace Forge.Evaluator.Domain;

public enum EvalSetStoreResult
{
    Created,
    /// <summary>The name already holds exactly these examples: a retried upload.</summary>
    Unchanged,
    /// <summary>The name already holds other examples; eval sets never change under a name.</summary>
    Conflict,
}

/// <summary>
/// Keeps eval sets: the examples are written to the artifact store under their hash, then the record is inserted (the
/// commit point). A refused or failed upload leaves no record, and a name's examples never change.
/// </summary>
public sealed partial class EvalSetLibrary(EvaluatorStore store, IArtifactStore artifacts, TimeProvider clock, ILogger<EvalSetLibrary> logger)
{
    /// <summary>An eval set's name: 1 to 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit.</summary>
    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    public static partial Regex NamePattern();

    public async Task<(EvalSetRecord Record, EvalSetStoreResult Result)> StoreAsync(string name, IReadOnlyList<EvalExample> examples, CancellationToken cancellationToken)
    {
        var jsonLines = EvalSetParser.ToJsonLines(examples);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(jsonLines));
        if (await store.EvalSets.GetAsync(name, cancellationToken) is { } existing)
            return (existing, Compare(existing, sha256));

        var key = $"evalsets/{name}/{sha256[..16]}.jsonl";
        await artifacts.PutBytesAsync(key, jsonLines, cancellationToken);
        var record = new EvalSetRecord
        {
            Id = name,
            ExampleCount = examples.Count,
            MaxReferences = examples.Max(example => example.References.Count),
            ArtifactKey = key,
            Sha256 = sha256,
            Bytes = jsonLines.Length,
            CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
        if (await store.EvalSets.TryInsertAsync(record, CancellationToken.None))
        {
            logger.LogInformation("Stored eval set {EvalSet}: {Examples} examples, {Bytes} bytes", name, record.ExampleCount, record.Bytes);
            return (record, EvalSetStoreResult.Created);
        }

        // A concurrent upload of the same name won; its artifact has another key unless it holds the same examples.
        var winner = await store.EvalSets.GetAsync(name, CancellationToken.None)
            ?? throw new InvalidOperationException($"Eval set {name} was reported as a duplicate but cannot be read.");
        if (winner.ArtifactKey != key)
            await artifacts.DeleteAsync(key, CancellationToken.None);
        return (winner, Compare(winner, sha256));
    }

    public async Task<IReadOnlyList<EvalExample>> ReadExamplesAsync(EvalSetRecord evalSet, CancellationToken cancellationToken) =>
        EvalSetParser.FromJsonLines(await artifacts.ReadAllBytesAsync(evalSet.ArtifactKey, cancellationToken));

    private static EvalSetStoreResult Compare(EvalSetRecord stored, string sha256) =>
        stored.Sha256 == sha256 ? EvalSetStoreResult.Unchanged : EvalSetStoreResult.Conflict;
}
