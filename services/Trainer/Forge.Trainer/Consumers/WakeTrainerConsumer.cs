using Forge.Contracts;
using Forge.Trainer.Domain;
using MassTransit;

namespace Forge.Trainer.Consumers;

/// <summary>
/// Acknowledges StartTrainingRun at once and wakes this replica's scheduler, which claims the run through its lease
/// (training never holds a broker message, which RabbitMQ would take back after 30 minutes).
/// </summary>
public sealed class WakeTrainerConsumer(RunWorker worker) : IConsumer<StartTrainingRun>
{
    public Task Consume(ConsumeContext<StartTrainingRun> context)
    {
        worker.Wake();
        return Task.CompletedTask;
    }
}
