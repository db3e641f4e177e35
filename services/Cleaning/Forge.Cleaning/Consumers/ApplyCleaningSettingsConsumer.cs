using Forge.Cleaning.Domain;
using Forge.Contracts;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Cleaning.Consumers;

/// <summary>
/// Stores a build's cleaning settings for its dataset exactly as PUT /api/cleaning/datasets/{id}/settings does.
/// Idempotent: storing the same settings again changes nothing, and CleaningSettingsApplied is announced again.
/// </summary>
public sealed class ApplyCleaningSettingsConsumer(CleaningSettingsProvider settings, ILogger<ApplyCleaningSettingsConsumer> logger) : IConsumer<CleaningSettingsRequested>
{
    public async Task Consume(ConsumeContext<CleaningSettingsRequested> context)
    {
        var message = context.Message;
        var (_, problem) = await settings.StoreAsync(message.DatasetId, message.SettingsJson, context.CancellationToken);
        if (problem is not null)
        {
            var reason = $"Cleaning settings: {problem.ProblemDetails.Detail}";
            logger.LogWarning("Build {BuildId}: refused the cleaning settings of dataset {DatasetId}: {Reason}", message.BuildId, message.DatasetId, reason);
            await context.Publish(new BuildStageFailed(message.BuildId, "clean", reason));
            return;
        }
        logger.LogInformation("Build {BuildId}: dataset {DatasetId} has its own cleaning settings", message.BuildId, message.DatasetId);
        await context.Publish(new CleaningSettingsApplied(message.BuildId, message.DatasetId));
    }
}

public sealed class ApplyCleaningSettingsConsumerDefinition : ConsumerDefinition<ApplyCleaningSettingsConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<ApplyCleaningSettingsConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(retry => retry.Exponential(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200)));
    }
}
