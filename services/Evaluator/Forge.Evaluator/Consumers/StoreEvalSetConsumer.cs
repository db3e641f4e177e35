using Forge.Contracts;
using Forge.Evaluator.Domain;
using Forge.Storage.Artifacts;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Evaluator.Consumers;

/// <summary>
/// Stores a build's task eval set as POST /api/evaluator/evalsets/{name} does and answers EvalSetStored. The same
/// examples under the same name are stored once (a repeated request is answered again); a bad line, or other examples
/// under the name, fail the build's stage naming the line or the conflict.
/// </summary>
public sealed class StoreEvalSetConsumer(EvalSetLibrary library, IArtifactStore artifacts, ILogger<StoreEvalSetConsumer> logger) : IConsumer<StoreEvalSetRequested>
{
    public async Task Consume(ConsumeContext<StoreEvalSetRequested> context)
    {
        var request = context.Message;
        if (await StoreAsync(request, context) is { } problem)
        {
            logger.LogWarning("Build {BuildId}: eval set {EvalSet} refused: {Problem}", request.BuildId, request.Name, problem);
            await context.Publish(new BuildStageFailed(request.BuildId, request.Stage, $"eval set '{request.Name}': {problem}"), context.CancellationToken);
        }
    }

    /// <summary>Stores the set and announces it, or says what is wrong with it.</summary>
    private async Task<string?> StoreAsync(StoreEvalSetRequested request, ConsumeContext context)
    {
        if (!EvalSetLibrary.NamePattern().IsMatch(request.Name))
            return "an eval set name is 1 to 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit";
        byte[] jsonl;
        try
        {
            jsonl = await artifacts.ReadAllBytesAsync(request.ArtifactKey, context.CancellationToken);
        }
        catch (ArtifactNotFoundException)
        {
            return $"there is no file '{request.ArtifactKey}' in the artifact store";
        }
        var (examples, error) = EvalSetParser.Parse(jsonl);
        if (error is not null)
            return $"{error.Field}: {error.Message}";
        var (record, result) = await library.StoreAsync(request.Name, examples!, context.CancellationToken);
        if (result == EvalSetStoreResult.Conflict)
            return $"the name already holds other examples (sha256 {record.Sha256}); an eval set never changes, so give the recipe's set a new name";
        await context.Publish(new EvalSetStored(request.BuildId, record.Id, record.ExampleCount, record.Sha256), context.CancellationToken);
        return null;
    }
}
