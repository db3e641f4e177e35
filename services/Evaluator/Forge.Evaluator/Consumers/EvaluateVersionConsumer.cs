using Forge.Contracts;
using Forge.Evaluator.Domain;
using Forge.Model;
using Forge.Storage.Artifacts;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Evaluator.Consumers;

/// <summary>
/// Scores a build's model version on a task eval set: the version answers every prompt, the answers are scored and
/// EvaluationCompleted goes to the registry. The evaluation's id is "{version}:{set}", so a version is scored once per
/// set and a repeated request only announces that evaluation again. A set or checkpoint that cannot be used fails the
/// build's stage.
/// </summary>
public sealed class EvaluateVersionConsumer(
    EvaluatorStore store, EvalSetGenerator generator, EvaluationRecorder recorder, ILogger<EvaluateVersionConsumer> logger) : IConsumer<EvaluateVersionRequested>
{
    public async Task Consume(ConsumeContext<EvaluateVersionRequested> context)
    {
        var request = context.Message;
        if (await EvaluateAsync(request, context) is { } problem)
        {
            logger.LogWarning("Build {BuildId}: {ModelVersionId} cannot be evaluated on {EvalSet}: {Problem}", request.BuildId, request.ModelVersionId, request.EvalSet, problem);
            await context.Publish(new BuildStageFailed(request.BuildId, request.Stage, $"{request.ModelVersionId} on eval set '{request.EvalSet}': {problem}"), context.CancellationToken);
        }
    }

    /// <summary>Scores the version (or finds it scored) and announces the evaluation, or says why it cannot.</summary>
    private async Task<string?> EvaluateAsync(EvaluateVersionRequested request, ConsumeContext context)
    {
        var id = $"{request.ModelVersionId}:{request.EvalSet}";
        if (await store.Evaluations.GetAsync(id, context.CancellationToken) is { } done)
        {
            await context.Publish(new EvaluationCompleted(done.Id, request.ModelVersionId, done.EvalSet, done.Metrics, done.CreatedAt), context.CancellationToken);
            return null;
        }
        if (request.MaxNewTokens is < 1 or > EvalSetGenerator.MaxNewTokensLimit)
            return $"maxNewTokens must be between 1 and {EvalSetGenerator.MaxNewTokensLimit} (got {request.MaxNewTokens})";
        if (await store.EvalSets.GetAsync(request.EvalSet, context.CancellationToken) is not { } evalSet)
            return "there is no such eval set";
        // Known from here on, so that the generations API can use the version too, whichever message came first.
        var version = new KnownModelVersion { Id = request.ModelVersionId, CheckpointKey = request.CheckpointKey, TokenizerId = request.TokenizerId };
        await store.ModelVersions.UpsertAsync(version, context.CancellationToken);
        IReadOnlyList<string>? outputs;
        try
        {
            outputs = await generator.GenerateAsync(evalSet, version, new GenerationOptions { MaxNewTokens = request.MaxNewTokens }, context.CancellationToken);
        }
        catch (ArtifactNotFoundException e)
        {
            return $"its checkpoint is not in the artifact store ('{e.Key}' is missing)";
        }
        catch (InvalidDataException e)
        {
            return $"its checkpoint cannot be read: {e.Message}";
        }
        if (outputs is null)
            return $"its tokenizer '{request.TokenizerId}' is not in the artifact store";
        await recorder.RecordAsync(evalSet, outputs, request.ModelVersionId, id, context.CancellationToken);
        return null;
    }
}

/// <summary>One generation at a time: each uses every core, so two would only slow each other down.</summary>
public sealed class EvaluateVersionConsumerDefinition : ConsumerDefinition<EvaluateVersionConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<EvaluateVersionConsumer> consumerConfigurator, IRegistrationContext context)
    {
        consumerConfigurator.ConcurrentMessageLimit = 1;
    }
}
