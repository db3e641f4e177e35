using Forge.Contracts;
using Forge.Model;
using Forge.Serving;
using Forge.Storage.Artifacts;
using Forge.Tokenization;

namespace Forge.Trainer.Domain;

/// <summary>A fine-tune once checked: the run to queue, or the field at fault and why (Run is then the failed record).</summary>
public sealed record FineTunePlan(TrainingRun Run, string? Field, string? Problem);

/// <summary>
/// Fine-tunes as runs: checks a request against the artifact store (the base checkpoint, its tokenizer, the examples
/// and the shards) before anything is queued, and loads a queued fine-tune's examples for training. The message
/// consumer and the HTTP endpoint both go through <see cref="PlanAsync"/>, so they accept and refuse the same requests.
/// </summary>
public sealed class FineTunes(IArtifactStore artifacts, TimeProvider clock)
{
    /// <summary>
    /// A fine-tune's schedule: a short warmup (a tenth of the steps, at most 10), then cosine decay to a tenth of the
    /// learning rate at the last step. Weight decay is off: AdamW's decay pulls weights towards zero, not towards the
    /// base, which is the wrong prior when the point is to stay near the base; few steps, a small learning rate and
    /// replay are what keep a fine-tune from drifting.
    /// </summary>
    public static TrainingConfig Training(FineTuneSettings settings) => new()
    {
        MaxSteps = settings.MaxSteps,
        LearningRate = settings.LearningRate,
        MinLearningRate = settings.LearningRate / 10,
        WarmupSteps = Math.Min(10, settings.MaxSteps / 10),
        DecaySteps = settings.MaxSteps,
        BatchSize = settings.BatchSize,
        EvaluationInterval = settings.EvaluationInterval,
        CheckpointInterval = settings.CheckpointInterval,
        Seed = settings.Seed,
        WeightDecay = 0,
    };

    /// <summary>
    /// Checks <paramref name="request"/> and returns the queued run, or a failed one naming the field at fault.
    /// An empty TokenizerId or BaseVersionId means "not given": the tokenizer is then the base's. Errors other than
    /// missing or unusable artifacts (a store that cannot be reached, say) are thrown, so the caller may retry.
    /// </summary>
    public async Task<FineTunePlan> PlanAsync(FineTuneRequested request, CancellationToken cancellationToken)
    {
        var settings = request.Settings ?? new FineTuneSettings();
        var now = clock.GetUtcNow().UtcDateTime;
        var run = new TrainingRun
        {
            Id = request.RunId,
            Name = request.Name ?? "",
            Kind = TrainingRun.FineTune,
            Model = null,
            Training = Training(settings),
            TokenizerId = request.TokenizerId ?? "",
            DatasetVersion = request.DatasetVersions is [var first, ..] ? first : null,
            TrainShards = [.. request.ReplayShards ?? []],
            ValidationShards = [.. request.ValidationShards ?? []],
            BaseVersionId = string.IsNullOrEmpty(request.BaseVersionId) ? null : request.BaseVersionId,
            BaseCheckpointKey = request.BaseCheckpointKey,
            SftDataKey = request.SftDataKey,
            ReplayFraction = settings.ReplayFraction,
            RetrainingId = request.RetrainingId,
            State = RunState.Queued,
            CreatedAt = now,
        };
        var problem = await CheckAsync(run, cancellationToken);
        if (problem.Run is { } checkedRun)
            run = checkedRun;
        return problem.Field is null
            ? new FineTunePlan(run, null, null)
            : new FineTunePlan(run with { State = RunState.Failed, Failure = $"{problem.Field}: {problem.Reason}", FinishedAt = now }, problem.Field, problem.Reason);
    }

    /// <summary>A fine-tune run's examples: its JSONL read with its tokenizer, at its model's context length.</summary>
    public async Task<FineTuneData> LoadDataAsync(TrainingRun run, CancellationToken cancellationToken)
    {
        if (run.Kind != TrainingRun.FineTune || run.SftDataKey is null || run.Model is null)
            throw new InvalidOperationException($"Run {run.Id} is not a fine-tune with examples and a model.");
        var tokenizer = await ModelArtifacts.LoadTokenizerAsync(artifacts, run.TokenizerId, cancellationToken)
            ?? throw new InvalidDataException($"There is no tokenizer '{run.TokenizerId}' in the artifact store.");
        return await ReadDataAsync(run, tokenizer, run.Model, cancellationToken);
    }

    /// <summary>The run with what the base says filled in, or the first field at fault.</summary>
    private async Task<(TrainingRun? Run, string? Field, string? Reason)> CheckAsync(TrainingRun run, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(run.Id))
            return (null, "runId", "A fine-tune needs a run id.");
        if (run.ReplayFraction is < 0 or >= 1 || double.IsNaN(run.ReplayFraction))
            return (null, "settings.replayFraction", $"must be in [0, 1) (got {run.ReplayFraction}).");
        if (run.Training.Problems() is [var trainingProblem, ..])
            return (null, "settings", trainingProblem);
        if (run.ReplayFraction > 0 && run.TrainShards.Count == 0)
            return (null, "replayShards", $"A replay fraction of {run.ReplayFraction} needs replay shards; name the base's training shards or set settings.replayFraction to 0.");
        if (string.IsNullOrEmpty(run.BaseCheckpointKey))
            return (null, "baseCheckpointKey", "Name the checkpoint to fine-tune (a manifest key, runs/{runId}/checkpoints/step-{n}/manifest.json).");
        if (string.IsNullOrEmpty(run.SftDataKey))
            return (null, "sftDataKey", "Name the JSONL of examples to fine-tune on.");

        var (baseState, baseProblem) = await ReadBaseAsync(run.BaseCheckpointKey, cancellationToken);
        if (baseState is null)
            return (null, "baseCheckpointKey", baseProblem);
        if (run.TokenizerId.Length > 0 && run.TokenizerId != baseState.TokenizerId)
            return (null, "tokenizerId", $"The base checkpoint was trained on tokenizer '{baseState.TokenizerId}', not '{run.TokenizerId}'; a fine-tune keeps its base's tokenizer.");
        run = run with { Model = baseState.Model, TokenizerId = baseState.TokenizerId };

        if (await ModelArtifacts.LoadTokenizerAsync(artifacts, run.TokenizerId, cancellationToken) is not { } tokenizer)
            return (run, "tokenizerId", $"There is no tokenizer '{run.TokenizerId}' in the artifact store (the base's).");
        try
        {
            var data = await ReadDataAsync(run, tokenizer, baseState.Model, cancellationToken);
            if (data.Problems() is [var dataProblem, ..])
                return (run, "sftDataKey", dataProblem);
            if (data.LargestToken() >= baseState.Model.VocabularySize)
                return (run, "sftDataKey", $"The examples use token {data.LargestToken()}, outside the base model's vocabulary of {baseState.Model.VocabularySize}.");
        }
        catch (ArtifactNotFoundException)
        {
            return (run, "sftDataKey", $"There is no file '{run.SftDataKey}'.");
        }
        catch (SftFormatException e)
        {
            return (run, "sftDataKey", e.Message);
        }
        catch (ArgumentException e)
        {
            return (run, "sftDataKey", e.Message);
        }

        var shards = run.TrainShards.Select((key, i) => (Key: key, Field: $"replayShards[{i}]"))
            .Concat(run.ValidationShards.Select((key, i) => (Key: key, Field: $"validationShards[{i}]")));
        foreach (var (key, field) in shards)
        {
            var (header, shardProblem) = await ShardHeaders.ReadAsync(artifacts, key, cancellationToken);
            if (header is null)
                return (run, field, shardProblem);
            if (header.TokenizerId != run.TokenizerId)
                return (run, field, $"The shard comes from tokenizer '{header.TokenizerId}', the base from '{run.TokenizerId}'.");
            if (header.VocabularySize > baseState.Model.VocabularySize)
                return (run, field, $"The shard's vocabulary of {header.VocabularySize} is larger than the base model's {baseState.Model.VocabularySize}.");
            if (header.TokenCount <= baseState.Model.ContextLength)
                return (run, field, $"The shard holds {header.TokenCount} tokens; a window of the base's context needs {baseState.Model.ContextLength + 1}.");
        }
        return (run, null, null);
    }

    /// <summary>The trainer state of a complete checkpoint (config, tokenizer), read from its manifest and trainer.json, or why not.</summary>
    private async Task<(TrainerState? State, string? Problem)> ReadBaseAsync(string manifestKey, CancellationToken cancellationToken)
    {
        if (!manifestKey.EndsWith("/" + Checkpoint.ManifestFile, StringComparison.Ordinal))
            return (null, $"'{manifestKey}' is not a checkpoint's manifest key (runs/{{runId}}/checkpoints/step-{{n}}/{Checkpoint.ManifestFile}).");
        var folder = manifestKey[..^Checkpoint.ManifestFile.Length];
        try
        {
            ArtifactKey.Validate(manifestKey);
            var files = new Dictionary<string, byte[]>(StringComparer.Ordinal)
            {
                [Checkpoint.ManifestFile] = await artifacts.ReadAllBytesAsync(manifestKey, cancellationToken),
                [Checkpoint.TrainerFile] = await artifacts.ReadAllBytesAsync(folder + Checkpoint.TrainerFile, cancellationToken),
            };
            if (await artifacts.StatAsync(folder + Checkpoint.ModelFile, cancellationToken) is null)
                return (null, $"The checkpoint at '{manifestKey}' is incomplete: {Checkpoint.ModelFile} is missing.");
            return (Checkpoint.ReadTrainerState(name => new MemoryStream(files[name], writable: false)), null);
        }
        catch (ArtifactNotFoundException e)
        {
            return (null, e.Key == manifestKey ? $"There is no checkpoint at '{manifestKey}'." : $"The checkpoint at '{manifestKey}' is incomplete: '{e.Key}' is missing.");
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            return (null, $"'{manifestKey}' is not a usable checkpoint: {e.Message}");
        }
    }

    private async Task<FineTuneData> ReadDataAsync(TrainingRun run, ITokenizer tokenizer, GptConfig model, CancellationToken cancellationToken)
    {
        ArtifactKey.Validate(run.SftDataKey!);
        // Read whole, then parsed: the parser is synchronous, and an S3 stream should not be read synchronously.
        using var jsonl = new MemoryStream(await artifacts.ReadAllBytesAsync(run.SftDataKey!, cancellationToken), writable: false);
        var examples = SftJsonl.Read(jsonl, tokenizer, model.ContextLength);
        return new FineTuneData(examples, SftJsonl.EndToken(tokenizer), run.TokenizerId, run.ReplayFraction);
    }
}
