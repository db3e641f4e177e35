using Forge.ServiceDefaults;
using Forge.Serving;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Forge.Contracts;
using Forge.Metrics;
using Forge.Model;
using Forge.Storage.Artifacts;
using Forge.Tokenization;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forge.Evaluator.Domain;

/// <summary>
/// Measures each registered model version on its run's held-out shards: token-weighted mean loss, perplexity and bits
/// per byte (so models with different tokenizers compare), as the eval set "validation". Runs one version at a time in
/// the background. The work is durable: the registration's consumer stores a <see cref="HeldOutMeasurement"/> before
/// acknowledging the message, and it is deleted only after EvaluationCompleted is published, so a crash or restart at
/// any point leaves it to be picked up again (at start and every <see cref="Interval"/> by <see cref="HeldOutSweep"/>). A version
/// already measured is not measured again: only its evaluation is announced again.
/// </summary>
public sealed class HeldOutEvaluator(EvaluatorStore store, IArtifactStore artifacts, IBus bus, TimeProvider clock, ILogger<HeldOutEvaluator> logger) : BackgroundService
{
    public const string EvalSet = "validation";
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    /// <summary>Attempts at one version before it is given up (its checkpoint or shards cannot be read, say).</summary>
    public const int MaxAttempts = 5;
    private readonly Channel<string> _queue = Channel.CreateUnbounded<string>();
    private readonly ConcurrentDictionary<string, bool> _queued = new(StringComparer.Ordinal);
    private readonly string _workFolder = ModelArtifacts.WorkFolder;

    public static string EvaluationIdOf(string modelVersionId) => $"{modelVersionId}:{EvalSet}";

    /// <summary>Queues a stored measurement, unless it is queued or being measured already.</summary>
    public void Enqueue(string modelVersionId)
    {
        if (_queued.TryAdd(modelVersionId, true))
            _queue.Writer.TryWrite(modelVersionId);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var versionId in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                if (await store.HeldOutMeasurements.GetAsync(versionId, stoppingToken) is { } measurement)
                    await MeasureAsync(measurement, stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                await RecordFailureAsync(versionId, e);
            }
            finally
            {
                _queued.TryRemove(versionId, out _);
            }
        }
    }

    private async Task RecordFailureAsync(string versionId, Exception error)
    {
        if (await store.HeldOutMeasurements.GetAsync(versionId, CancellationToken.None) is not { } measurement)
            return;
        var failed = measurement with { Attempts = measurement.Attempts + 1, LastError = error.Message };
        if (failed.Attempts >= MaxAttempts)
        {
            logger.LogError(error, "Gave up measuring model version {ModelVersionId} on its held-out shards after {Attempts} attempts", versionId, failed.Attempts);
            await store.HeldOutMeasurements.DeleteAsync(versionId, CancellationToken.None);
            return;
        }
        logger.LogWarning(error, "Could not measure model version {ModelVersionId} on its held-out shards (attempt {Attempt} of {MaxAttempts}); trying again in {Interval}",
            versionId, failed.Attempts, MaxAttempts, Interval);
        await store.HeldOutMeasurements.UpsertAsync(failed, CancellationToken.None);
    }

    /// <summary>
    /// Measures the version (or finds it measured), announces the evaluation and deletes the stored measurement.
    /// </summary>
    public async Task<Evaluation> MeasureAsync(HeldOutMeasurement version, CancellationToken cancellationToken)
    {
        var evaluation = await store.Evaluations.GetAsync(EvaluationIdOf(version.Id), cancellationToken)
            ?? await EvaluateAsync(version, cancellationToken);
        await bus.Publish(new EvaluationCompleted(evaluation.Id, version.Id, EvalSet, evaluation.Metrics, evaluation.CreatedAt), CancellationToken.None);
        await store.HeldOutMeasurements.DeleteAsync(version.Id, CancellationToken.None);
        return evaluation;
    }

    private async Task<Evaluation> EvaluateAsync(HeldOutMeasurement version, CancellationToken cancellationToken)
    {
        var id = EvaluationIdOf(version.Id);
        HeldOutResult result;
        long bytes;
        using (var model = await ModelArtifacts.LoadModelAsync(artifacts, version.CheckpointKey, _workFolder, cancellationToken))
        using (var data = TokenDataset.Open(await artifacts.StageFilesAsync(version.ValidationShards, Path.Combine(_workFolder, "shards"), cancellationToken)))
        {
            result = HeldOutLoss.Measure(model, data);
            bytes = await TextBytesAsync(version.TokenizerId, data, cancellationToken);
        }

        var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["loss"] = LanguageModelMetrics.MeanLoss(result.SumNll, result.Tokens),
            ["perplexity"] = LanguageModelMetrics.Perplexity(result.SumNll, result.Tokens),
        };
        if (bytes > 0)
            metrics["bitsPerByte"] = LanguageModelMetrics.BitsPerByte(result.SumNll, bytes);
        var now = clock.GetUtcNow().UtcDateTime;
        var reportKey = Evaluation.ReportKeyOf(id);
        await artifacts.PutBytesAsync(reportKey, JsonSerializer.SerializeToUtf8Bytes(new
        {
            modelVersionId = version.Id,
            evalSet = EvalSet,
            shards = version.ValidationShards,
            tokens = result.Tokens,
            bytes,
            sumNll = result.SumNll,
            metrics,
        }), cancellationToken);
        var evaluation = new Evaluation
        {
            Id = id,
            EvalSet = EvalSet,
            EvalSetSha256 = string.Join(',', version.ValidationShards),
            ModelVersionId = version.Id,
            Metrics = metrics,
            ReportKey = reportKey,
            CreatedAt = now,
        };
        if (!await store.Evaluations.TryInsertAsync(evaluation, cancellationToken))
            return await store.Evaluations.GetAsync(id, cancellationToken) ?? evaluation;
        logger.LogInformation("Model version {ModelVersionId} on its held-out shards: loss {Loss:F4}, perplexity {Perplexity:F2} over {Tokens} tokens",
            version.Id, metrics["loss"], metrics["perplexity"], result.Tokens);
        return evaluation;
    }

    /// <summary>The UTF-8 size of the text the held-out tokens stand for, decoded with the model's tokenizer.</summary>
    private async Task<long> TextBytesAsync(string tokenizerId, TokenDataset data, CancellationToken cancellationToken)
    {
        if (await ModelArtifacts.LoadTokenizerAsync(artifacts, tokenizerId, cancellationToken) is not { } tokenizer)
            return 0;
        long bytes = 0;
        foreach (var shard in data.Shards)
        {
            var ids = new long[shard.Count];
            shard.Read(0, ids);
            bytes += Encoding.UTF8.GetByteCount(tokenizer.Decode(Array.ConvertAll(ids, id => (int)id)));
        }
        return bytes;
    }
}

/// <summary>
/// Queues every stored held-out measurement with the evaluator: at start (those a stopped process left) and every
/// <see cref="HeldOutEvaluator.Interval"/> (those that failed and wait for another attempt).
/// </summary>
public sealed class HeldOutSweep(HeldOutEvaluator evaluator, EvaluatorStore store, TimeProvider clock, ILogger<HeldOutSweep> logger) : PeriodicSweep(clock, logger)
{
    protected override TimeSpan Interval => HeldOutEvaluator.Interval;
    protected override bool SweepAtStart => true;
    protected override string Name => "held-out measurement sweep";

    protected override async Task SweepAsync(CancellationToken cancellationToken)
    {
        foreach (var id in await store.HeldOutMeasurements.FindIdsAsync(_ => true, cancellationToken))
            evaluator.Enqueue(id);
    }
}
