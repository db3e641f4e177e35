using Forge.Model;
using Forge.Storage.Artifacts;
using Forge.Tokenization;
using Forge.Trainer.Apis;

namespace Forge.Trainer.Domain;

/// <summary>
/// Checks a pretraining submission (from the HTTP API or a build's PretrainRequested) against its shards and turns it
/// into a queued run, or names the field at fault. Nothing is stored here.
/// </summary>
public static class RunSubmissions
{
    public static async Task<(TrainingRun? Run, string? Field, string? Problem)> PlanAsync(
        SubmitRunRequest submission, bool vocabularyGiven, string runId, IArtifactStore artifacts, TimeProvider clock, CancellationToken cancellationToken)
    {
        static (TrainingRun?, string?, string?) Refuse(string field, string problem) => (null, field, problem);

        if (submission.TrainShards is not { Count: > 0 } trainShards)
            return Refuse("trainShards", "Name at least one token shard to train on.");
        var validationShards = submission.ValidationShards ?? [];

        var headers = new List<TokenShardHeader>();
        foreach (var (key, field) in trainShards.Select((k, i) => (k, $"trainShards[{i}]")).Concat(validationShards.Select((k, i) => (k, $"validationShards[{i}]"))))
        {
            var (header, problem) = await ShardHeaders.ReadAsync(artifacts, key, cancellationToken);
            if (problem is not null)
                return Refuse(field, problem);
            headers.Add(header!);
        }
        var tokenizerId = submission.TokenizerId ?? headers[0].TokenizerId;
        if (headers.FirstOrDefault(h => h.TokenizerId != tokenizerId) is { } other)
            return Refuse(submission.TokenizerId is null ? "validationShards" : "tokenizerId", $"The shards come from tokenizer '{other.TokenizerId}', not '{tokenizerId}'.");

        var vocabulary = headers.Max(h => h.VocabularySize);
        // Without an explicit vocabulary size the model takes the shards' own.
        var model = submission.Model ?? new GptConfig();
        if (!vocabularyGiven)
            model = model with { VocabularySize = vocabulary };
        if (model.Problems() is [var modelProblem, ..])
            return Refuse("model", modelProblem);
        if (model.VocabularySize < vocabulary)
            return Refuse("model.vocabularySize", $"{model.VocabularySize} is smaller than the shards' vocabulary of {vocabulary}.");
        var training = submission.Training ?? new TrainingConfig();
        if (training.Problems() is [var trainingProblem, ..])
            return Refuse("training", trainingProblem);
        var trainTokens = headers.Take(trainShards.Count).Sum(h => h.TokenCount);
        if (model.ContextLength + 1 > trainTokens)
            return Refuse("model.contextLength", $"{model.ContextLength} is longer than the {trainTokens} tokens of training data.");
        if (validationShards.Count > 0 && model.ContextLength + 1 > headers.Skip(trainShards.Count).Sum(h => h.TokenCount))
            return Refuse("model.contextLength", $"{model.ContextLength} is longer than the validation data.");

        var run = new TrainingRun
        {
            Id = runId,
            Name = submission.Name ?? "",
            Model = model,
            Training = training,
            TokenizerId = tokenizerId,
            DatasetVersion = submission.DatasetVersion,
            TrainShards = trainShards,
            ValidationShards = validationShards,
            State = RunState.Queued,
            CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
        return (run, null, null);
    }
}
