using Forge.Contracts;
using Forge.Feedback.Apis;
using Forge.Feedback.Domain;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Feedback.Consumers;

/// <summary>Keeps the retraining policy a recipe names for its model, checked as the policy API checks it; a bad one fails the build.</summary>
public sealed class FeedbackPolicyConsumer(RetrainingTrigger trigger, ILogger<FeedbackPolicyConsumer> logger) : IConsumer<FeedbackPolicyRequested>
{
    public async Task Consume(ConsumeContext<FeedbackPolicyRequested> context)
    {
        var m = context.Message;
        var (policy, error) = new RetrainingPolicyRequest
        {
            MinNewFeedback = m.MinNewFeedback,
            MinNewExamples = m.MinNewExamples,
            RatingBelow = m.RatingBelow,
            MinRatings = m.MinRatings,
            Enabled = m.Enabled,
        }.Validate();
        if (policy is null)
        {
            await context.Publish(new BuildStageFailed(m.BuildId, "ingest", $"feedback.{error!.Field.TrimStart('$', '.')}: {error.Message}"), context.CancellationToken);
            return;
        }
        await trigger.SetPolicyAsync(m.Model, policy, context.CancellationToken);
        logger.LogInformation("Build {BuildId}: retraining policy of {Model} set (after {MinNewFeedback} new feedback items)", m.BuildId, m.Model, m.MinNewFeedback);
    }
}
