using Forge.Serving;
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
/// the background; a version already measured is not measured again, so a redelivered registration changes nothing.
/// </summary>
public sealed class HeldOutEvaluator(EvaluatorStore store, IArtifactStore artifacts, IBus bus, TimeProvider clock, ILogger<HeldOutEvaluator> logger) : BackgroundService
{
    public const string EvalSet = "validation";
    private readonly Channel<ModelVersionRegistered> _queue = Channel.CreateUnbounded<ModelVersionRegistered>();
    private readonly string _workFolder = ModelArtifacts.WorkFolder;

    public void Enqueue(ModelVersionRegistered version) => _queue.Writer.TryWrite(version);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var version in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await MeasureAsync(version, stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(e, "Could not measure model version {ModelVersionId} on its held-out shards", version.ModelVersionId);
            }
        }
    }

    public async Task<Evaluation?> MeasureAsync(ModelVersionRegistered version, CancellationToken cancellationToken)
    {
        if (version.ValidationShards.Count == 0)
            return null;
        var id = $"{version.ModelVersionId}:{EvalSet}";
        if (await store.Evaluations.GetAsync(id, cancellationToken) is { } existing)
            return existing;

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
            modelVersionId = version.ModelVersionId,
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
            ModelVersionId = version.ModelVersionId,
            Metrics = metrics,
            ReportKey = reportKey,
            CreatedAt = now,
        };
        if (!await store.Evaluations.TryInsertAsync(evaluation, cancellationToken))
            return await store.Evaluations.GetAsync(id, cancellationToken);
        logger.LogInformation("Model version {ModelVersionId} on its held-out shards: loss {Loss:F4}, perplexity {Perplexity:F2} over {Tokens} tokens",
            version.ModelVersionId, metrics["loss"], metrics["perplexity"], result.Tokens);
        await bus.Publish(new EvaluationCompleted(id, version.ModelVersionId, EvalSet, metrics, now), CancellationToken.None);
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
