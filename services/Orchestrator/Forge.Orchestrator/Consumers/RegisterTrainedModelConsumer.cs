using Forge.Contracts;
using Forge.Orchestrator.Domain;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Orchestrator.Consumers;

/// <summary>
/// Registers every completed training run's final checkpoint as a candidate version of the model the run was named
/// after ("default" when unnamed), with its lineage, asking for a gated promotion once it is evaluated. A redelivered
/// completion finds the version already registered. A sweep's trials are not registered: the sweep registers its best.
/// </summary>
public sealed class RegisterTrainedModelConsumer(ModelRegistry registry, ILogger<RegisterTrainedModelConsumer> logger) : IConsumer<TrainingRunCompleted>
{
    public async Task Consume(ConsumeContext<TrainingRunCompleted> context)
    {
        var run = context.Message;
        if (SweepManager.IsTrialRun(run.RunName))
        {
            logger.LogInformation("Run {RunId} is a sweep trial; its sweep registers only the best trial", run.RunId);
            return;
        }
        var model = ModelName(run.RunName);
        var (version, result) = await registry.RegisterAsync(new NewModelVersion(
            model,
            run.RunId,
            run.CheckpointKey,
            run.TokenizerId,
            run.DatasetVersion is null ? [] : [run.DatasetVersion],
            new Dictionary<string, Dictionary<string, double>>(),
            AutoPromote: true,
            By: ModelRegistry.RegistryActor,
            ValidationShards: run.ValidationShards)
        {
            TrainShards = run.TrainShards,
            BaseVersionId = run.BaseVersionId,
            RetrainingId = run.RetrainingId,
        }, context.CancellationToken);
        logger.LogInformation("Run {RunId} is model version {ModelVersionId} ({Result})", run.RunId, version.Id, result);
    }

    /// <summary>A run's name as a model name: lowercase letters, digits, '.', '_' and '-'; "default" when nothing is left.</summary>
    public static string ModelName(string runName)
    {
        var name = new string(runName.Trim().ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-').ToArray()).Trim('-', '.', '_');
        return name.Length == 0 ? "default" : name[..Math.Min(name.Length, 64)];
    }
}

/// <summary>
/// One registration at a time per orchestrator: a completion announced twice (a resent build command makes the trainer
/// announce it again) is then registered once without burning a version number on the duplicate.
/// </summary>
public sealed class RegisterTrainedModelConsumerDefinition : ConsumerDefinition<RegisterTrainedModelConsumer>
{
    public RegisterTrainedModelConsumerDefinition() => ConcurrentMessageLimit = 1;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<RegisterTrainedModelConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(retry => retry.Exponential(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200)));
    }
}
