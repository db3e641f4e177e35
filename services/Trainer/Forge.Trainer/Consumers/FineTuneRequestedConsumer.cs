using Forge.Contracts;
using Forge.Trainer.Domain;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Trainer.Consumers;

/// <summary>
/// Records a requested fine-tune as a run (its id is the request's RunId) and queues it. A repeated request finds its
/// run: it starts nothing, and announces the run's end again if it has ended. A request whose base checkpoint, tokenizer, examples or shards cannot be used is
/// recorded as a failed run with the reason and announced with TrainingRunFailed: a run is never half started.
/// </summary>
public sealed class FineTuneRequestedConsumer(TrainerStore store, FineTunes fineTunes, ILogger<FineTuneRequestedConsumer> logger) : IConsumer<FineTuneRequested>
{
    public async Task Consume(ConsumeContext<FineTuneRequested> context)
    {
        var request = context.Message;
        if (string.IsNullOrEmpty(request.RunId))
        {
            logger.LogWarning("FineTuneRequested without a run id (base {BaseCheckpointKey}); ignored", request.BaseCheckpointKey);
            return;
        }
        if (await store.Runs.GetAsync(request.RunId, context.CancellationToken) is { } existing)
        {
            // A repeated request (a redelivery, or a resumed build asking again) starts nothing; a run that has ended
            // is announced again, so an orchestrator that missed the end learns it.
            logger.LogInformation("Fine-tune {RunId} is already recorded ({State}); the request was repeated", request.RunId, existing.State);
            if (RunEndings.Announcement(existing) is { } ended)
                await context.Publish(ended, ended.GetType(), context.CancellationToken);
            return;
        }
        var plan = await fineTunes.PlanAsync(request, context.CancellationToken);
        if (!await store.Runs.TryInsertAsync(plan.Run, context.CancellationToken))
            return; // a concurrent delivery of the same request recorded it first
        if (plan.Field is null)
        {
            await context.Publish(new StartTrainingRun(plan.Run.Id), context.CancellationToken);
            logger.LogInformation("Fine-tune {RunId} of {BaseVersionId} queued: {Steps} steps on {SftDataKey}, replay {ReplayFraction}",
                plan.Run.Id, plan.Run.BaseVersionId, plan.Run.Training.MaxSteps, plan.Run.SftDataKey, plan.Run.ReplayFraction);
        }
        else
        {
            await context.Publish(new TrainingRunFailed(plan.Run.Id, plan.Run.Failure!), context.CancellationToken);
            logger.LogWarning("Fine-tune {RunId} refused: {Reason}", plan.Run.Id, plan.Run.Failure);
        }
    }
}

public sealed class FineTuneRequestedConsumerDefinition : ConsumerDefinition<FineTuneRequestedConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<FineTuneRequestedConsumer> consumerConfigurator, IRegistrationContext context)
    {
        // Missing or bad artifacts fail the run at once; what is retried is a store that could not be reached.
        endpointConfigurator.UseMessageRetry(retry => retry.Exponential(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200)));
    }
}
