using Forge.Contracts;
using Forge.Tokenizer.Domain;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Tokenizer.Consumers;

/// <summary>
/// Trains a build's tokenizer, as POST /api/tokenizer/tokenizers does. Idempotent on the tokenizer id: a repeated
/// command finds the tokenizer and announces TokenizerTrained again when it is trained, leaves it to finish when it is
/// training, and queues it again when it failed (the build is being retried). The same id with another spec fails.
/// </summary>
public sealed class TrainTokenizerConsumer(TokenizerJobs jobs, VersionWaitOptions wait, ILogger<TrainTokenizerConsumer> logger) : IConsumer<TrainTokenizerRequested>
{
    private const string Stage = "tokenizer";

    public async Task Consume(ConsumeContext<TrainTokenizerRequested> context)
    {
        var message = context.Message;
        var spec = new TokenizerSpec { Kind = message.Kind, VocabularySize = message.VocabularySize, MinFrequency = message.MinFrequency, SpecialTokens = [.. message.SpecialTokens] };
        var submission = await jobs.SubmitTrainingAsync(message.TokenizerId, message.DatasetVersion, spec, message.BuildId, context.CancellationToken);
        switch (submission.Status)
        {
            case SubmissionStatus.Queued:
                logger.LogInformation("Build {BuildId}: training tokenizer {TokenizerId} on {DatasetVersion}", message.BuildId, message.TokenizerId, message.DatasetVersion);
                break;
            case SubmissionStatus.DatasetVersionUnknown when context.GetRetryAttempt() < wait.Retries:
                throw new DatasetVersionNotKnownException(message.DatasetVersion);
            case SubmissionStatus.DatasetVersionUnknown:
                await FailAsync(context, $"{submission.Message} (waited {wait.VersionWait})");
                break;
            case SubmissionStatus.Exists when submission.Record is { } existing && existing.DatasetVersion == message.DatasetVersion && TokenizerSpecs.Same(existing.Spec, spec):
                await AnswerAgainAsync(context, existing);
                break;
            case SubmissionStatus.Exists:
                await FailAsync(context, $"Tokenizer '{message.TokenizerId}' exists already, trained with another spec or on another dataset version.");
                break;
            default:
                await FailAsync(context, submission.Field is null ? submission.Message! : $"{submission.Field}: {submission.Message}");
                break;
        }
    }

    private async Task AnswerAgainAsync(ConsumeContext<TrainTokenizerRequested> context, TokenizerRecord existing)
    {
        switch (existing.State)
        {
            case JobState.Completed:
                logger.LogInformation("Build {BuildId}: tokenizer {TokenizerId} is trained already; announcing it again", context.Message.BuildId, existing.Id);
                await context.Publish(TokenizerJobs.Trained(existing));
                break;
            case JobState.Failed when await jobs.RetryTrainingAsync(existing, context.CancellationToken):
                logger.LogInformation("Build {BuildId}: tokenizer {TokenizerId} failed before ({Failure}); training it again", context.Message.BuildId, existing.Id, existing.Failure);
                break;
            default:
                logger.LogInformation("Build {BuildId}: tokenizer {TokenizerId} is {State}; it is announced when trained", context.Message.BuildId, existing.Id, existing.State);
                break;
        }
    }

    private async Task FailAsync(ConsumeContext<TrainTokenizerRequested> context, string reason)
    {
        logger.LogWarning("Build {BuildId}: cannot train tokenizer {TokenizerId}: {Reason}", context.Message.BuildId, context.Message.TokenizerId, reason);
        await context.Publish(new BuildStageFailed(context.Message.BuildId, Stage, reason));
    }
}

/// <summary>Retries at a steady interval for as long as a dataset version may take to be heard of; the consumer gives up on the last try.</summary>
public sealed class TrainTokenizerConsumerDefinition(VersionWaitOptions wait) : ConsumerDefinition<TrainTokenizerConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<TrainTokenizerConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(retry => retry.Interval(wait.Retries, wait.VersionRetryInterval));
    }
}
