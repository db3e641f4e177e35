using Forge.Contracts;
using Forge.Orchestrator.Domain;
using MassTransit;

namespace Forge.Orchestrator.Consumers;

/// <summary>
/// Feeds the trainer's events about sweep trials to their sweeps (a trial's run id names its sweep; other runs are
/// ignored). Redelivered events change nothing: an evaluation is recorded once per step, and an ended run stays ended.
/// </summary>
public sealed class SweepEventsConsumer(SweepManager sweeps, TimeProvider clock) :
    IConsumer<StartTrainingRun>, IConsumer<TrainingRunProgressed>, IConsumer<TrainingRunEvaluated>, IConsumer<TrainingRunCompleted>,
    IConsumer<TrainingRunFailed>, IConsumer<TrainingRunCancelled>, IConsumer<BuildStageFailed>
{
    public Task Consume(ConsumeContext<StartTrainingRun> context) =>
        sweeps.ApplyAsync(context.Message.RunId, (_, t) => t.Accepted ? null : t with { Accepted = true }, context.CancellationToken);

    public Task Consume(ConsumeContext<TrainingRunProgressed> context)
    {
        var m = context.Message;
        return sweeps.ApplyAsync(m.RunId, (_, t) => t.RunEnded || m.Step < t.Step ? null : Started(t) with
        {
            Step = m.Step,
            TrainingLoss = m.Loss,
            TokensPerSecond = m.TokensPerSecond,
        }, context.CancellationToken);
    }

    /// <summary>Records the loss at this step and, while the trial is live, lets the pruning rule judge it.</summary>
    public Task Consume(ConsumeContext<TrainingRunEvaluated> context)
    {
        var m = context.Message;
        return sweeps.ApplyAsync(m.RunId, (sweep, t) =>
        {
            if (t.RunEnded || t.State is not (TrialState.Queued or TrialState.Running) || t.Evaluations.Any(e => e.Step == m.Step))
                return null;
            var evaluated = Started(t) with
            {
                Step = Math.Max(t.Step, m.Step),
                Evaluations = [.. t.Evaluations, new SweepEvaluation(m.Step, m.ValidationLoss)],
            };
            if (sweep.State != SweepState.Running || SweepPruner.Judge(sweep, evaluated, m.Step, m.ValidationLoss) is not { } reason)
                return evaluated;
            return evaluated with { State = TrialState.Pruned, Detail = reason };
        }, context.CancellationToken);
    }

    public Task Consume(ConsumeContext<TrainingRunCompleted> context)
    {
        var m = context.Message;
        return sweeps.ApplyAsync(m.RunId, (_, t) => t.RunEnded ? null : Ended(t, m.Step) with
        {
            // A pruned trial that reached its last step before the stop did stays pruned: it was judged weak.
            State = t.State is TrialState.Queued or TrialState.Running ? TrialState.Completed : t.State,
            TrainingLoss = m.FinalLoss,
            FinalValidationLoss = m.ValidationLoss,
            CheckpointKey = m.CheckpointKey,
        }, context.CancellationToken);
    }

    public Task Consume(ConsumeContext<TrainingRunFailed> context) =>
        sweeps.ApplyAsync(context.Message.RunId, (_, t) => t.RunEnded ? null : Ended(t, t.Step) with
        {
            State = t.State is TrialState.Queued or TrialState.Running ? TrialState.Failed : t.State,
            Detail = t.Detail ?? context.Message.Reason,
        }, context.CancellationToken);

    public Task Consume(ConsumeContext<TrainingRunCancelled> context) =>
        sweeps.ApplyAsync(context.Message.RunId, (_, t) => t.RunEnded ? null : Ended(t, context.Message.Step) with
        {
            State = t.State is TrialState.Queued or TrialState.Running ? TrialState.Cancelled : t.State,
            Detail = t.Detail ?? $"the run was cancelled at step {context.Message.Step}",
        }, context.CancellationToken);

    /// <summary>A refused PretrainRequested names the sweep (its build id), not the run.</summary>
    public Task Consume(ConsumeContext<BuildStageFailed> context) =>
        sweeps.RefusedAsync(context.Message.BuildId, context.Message.Reason, context.CancellationToken);

    private SweepTrial Started(SweepTrial trial) => trial with
    {
        Accepted = true,
        State = trial.State == TrialState.Queued ? TrialState.Running : trial.State,
        StartedAt = trial.StartedAt ?? clock.GetUtcNow().UtcDateTime,
    };

    private SweepTrial Ended(SweepTrial trial, long step) => trial with
    {
        Accepted = true,
        RunEnded = true,
        Step = Math.Max(trial.Step, step),
        FinishedAt = trial.FinishedAt ?? clock.GetUtcNow().UtcDateTime,
    };
}

/// <summary>Sweep events retry on store contention: concurrent trials report into the same sweep document.</summary>
public sealed class SweepEventsConsumerDefinition : ConsumerDefinition<SweepEventsConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<SweepEventsConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(retry => retry.Exponential(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200)));
    }
}
