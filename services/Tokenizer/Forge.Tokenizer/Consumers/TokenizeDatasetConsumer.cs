using Forge.Contracts;
using Forge.Tokenizer.Domain;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Tokenizer.Consumers;

/// <summary>
/// Encodes a build's dataset version with its tokenizer, as POST /api/tokenizer/tokenizations does. Idempotent on the
/// (version, tokenizer) pair: a repeated command announces DatasetTokenized again when the shards are written, leaves a
/// running job to finish, and queues a failed one again (the build is being retried).
/// </summary>
public sealed class TokenizeDatasetConsumer(TokenizerJobs jobs, VersionWaitOptions wait, ILogger<TokenizeDatasetConsumer> logger) : IConsumer<TokenizeDatasetRequested>
{
    private const string Stage = "tokenize";

    public async Task Consume(ConsumeContext<TokenizeDatasetRequested> context)
    {
        var message = context.Message;
        var submission = await jobs.SubmitTokenizationAsync(message.TokenizerId, message.DatasetVersion, message.BuildId, context.CancellationToken);
        switch (submission.Status)
        {
            case SubmissionStatus.Queued:
                logger.LogInformation("Build {BuildId}: encoding {DatasetVersion} with tokenizer {TokenizerId}", message.BuildId, message.DatasetVersion, message.TokenizerId);
                break;
            case SubmissionStatus.DatasetVersionUnknown when context.GetRetryAttempt() < wait.Retries:
                throw new DatasetVersionNotKnownException(message.DatasetVersion);
            case SubmissionStatus.DatasetVersionUnknown:
                await FailAsync(context, $"{submission.Message} (waited {wait.VersionWait})");
                break;
            case SubmissionStatus.Exists when submission.Record is { } existing:
                await AnswerAgainAsync(context, existing);
                break;
            default:
                await FailAsync(context, submission.Field is null ? submission.Message! : $"{submission.Field}: {submission.Message}");
                break;
        }
    }

    private async Task AnswerAgainAsync(ConsumeContext<TokenizeDatasetRequested> context, TokenizationRecord existing)
    {
        switch (existing.State)
        {
            case JobState.Completed:
                logger.LogInformation("Build {BuildId}: {DatasetVersion} is encoded with {TokenizerId} already; announcing it again", context.Message.BuildId, existing.DatasetVersion, existing.TokenizerId);
                await context.Publish(TokenizerJobs.Tokenized(existing));
                break;
            case JobState.Failed when await jobs.RetryTokenizationAsync(existing, context.CancellationToken):
                logger.LogInformation("Build {BuildId}: encoding {DatasetVersion} failed before ({Failure}); encoding it again", context.Message.BuildId, existing.DatasetVersion, existing.Failure);
                break;
            default:
                logger.LogInformation("Build {BuildId}: encoding {DatasetVersion} is {State}; it is announced when done", context.Message.BuildId, existing.DatasetVersion, existing.State);
                break;
        }
    }

    private async Task FailAsync(ConsumeContext<TokenizeDatasetRequested> context, string reason)
    {
        logger.LogWarning("Build {BuildId}: cannot encode {DatasetVersion}: {Reason}", context.Message.BuildId, context.Message.DatasetVersion, reason);
        await context.Publish(new BuildStageFailed(context.Message.BuildId, Stage, reason));
    }
}

/// <summary>Retries at a steady interval for as long as a dataset version may take to be heard of; the consumer gives up on the last try.</summary>
public sealed class TokenizeDatasetConsumerDefinition(VersionWaitOptions wait) : ConsumerDefinition<TokenizeDatasetConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<TokenizeDatasetConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(retry => retry.Interval(wait.Retries, wait.VersionRetryInterval));
    }
}
