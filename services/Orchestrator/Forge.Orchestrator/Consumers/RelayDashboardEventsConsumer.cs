using Forge.Contracts;
using Forge.Orchestrator.Domain;
using MassTransit;

namespace Forge.Orchestrator.Consumers;

/// <summary>
/// Relays the events the dashboard shows live to this process's <see cref="DashboardEvents"/>. One consumer for all of
/// them (not one per message): each does the same one line, and they share one per-instance temporary endpoint, so
/// every orchestrator replica sees every event instead of competing for it. Nothing is stored, so redelivery is harmless.
/// </summary>
public sealed class RelayDashboardEventsConsumer(DashboardEvents events) :
    IConsumer<TrainingRunProgressed>, IConsumer<TrainingRunEvaluated>, IConsumer<CheckpointSaved>,
    IConsumer<TrainingRunCompleted>, IConsumer<TrainingRunFailed>, IConsumer<TrainingRunCancelled>,
    IConsumer<BuildProgressed>, IConsumer<ModelVersionRegistered>, IConsumer<ModelPromoted>, IConsumer<ModelRolledBack>,
    IConsumer<PromotionRefused>, IConsumer<EvaluationCompleted>, IConsumer<GenerationCompleted>, IConsumer<FeedbackReceived>,
    IConsumer<ShardCleaned>, IConsumer<DatasetVersionSealed>, IConsumer<TokenizerTrained>, IConsumer<DatasetTokenized>
{
    public Task Consume(ConsumeContext<TrainingRunProgressed> context) => Relay(context.Message);
    public Task Consume(ConsumeContext<TrainingRunEvaluated> context) => Relay(context.Message);
    public Task Consume(ConsumeContext<CheckpointSaved> context) => Relay(context.Message);
    public Task Consume(ConsumeContext<TrainingRunCompleted> context) => Relay(context.Message);
    public Task Consume(ConsumeContext<TrainingRunFailed> context) => Relay(context.Message);
    public Task Consume(ConsumeContext<TrainingRunCancelled> context) => Relay(context.Message);
    public Task Consume(ConsumeContext<BuildProgressed> context) => Relay(context.Message);
    public Task Consume(ConsumeContext<ModelVersionRegistered> context) => Relay(context.Message);
    public Task Consume(ConsumeContext<ModelPromoted> context) => Relay(context.Message);
    public Task Consume(ConsumeContext<ModelRolledBack> context) => Relay(context.Message);
    public Task Consume(ConsumeContext<PromotionRefused> context) => Relay(context.Message);
    public Task Consume(ConsumeContext<EvaluationCompleted> context) => Relay(context.Message);
    public Task Consume(ConsumeContext<FeedbackReceived> context) => Relay(context.Message);
    public Task Consume(ConsumeContext<ShardCleaned> context) => Relay(context.Message);
    public Task Consume(ConsumeContext<DatasetVersionSealed> context) => Relay(context.Message);
    public Task Consume(ConsumeContext<TokenizerTrained> context) => Relay(context.Message);
    public Task Consume(ConsumeContext<DatasetTokenized> context) => Relay(context.Message);

    // A generation's prompt, conversation and output can be long and are not the dashboard's to broadcast to every viewer.
    public Task Consume(ConsumeContext<GenerationCompleted> context)
    {
        var g = context.Message;
        return Relay(new { g.GenerationId, g.Model, g.ModelVersionId, g.Kind, g.PromptTokens, g.CompletionTokens, g.FinishReason, g.CreatedAt },
            nameof(GenerationCompleted));
    }

    private Task Relay<T>(T message, string? type = null) where T : notnull
    {
        events.Publish(new DashboardEvent(type ?? typeof(T).Name, message));
        return Task.CompletedTask;
    }
}
