using System.Text.Json;
using System.Text.Json.Serialization;
using Forge.Contracts;
using Forge.Metrics;
using Forge.Storage.Artifacts;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Evaluator.Domain;

/// <summary>An evaluation with its corpus scores and every example: what GET /api/evaluator/evaluations/{id} answers.</summary>
public sealed record EvaluationReport(
    string Id,
    string EvalSet,
    string EvalSetSha256,
    string? ModelVersionId,
    DateTime CreatedAt,
    IReadOnlyDictionary<string, double> Metrics,
    BleuScore Bleu,
    ChrFScore ChrF,
    RougeCorpusScore Rouge,
    IReadOnlyList<ExampleResult> Examples);

/// <summary>
/// Scores outputs on an eval set and keeps the result: the report artifact first, then the evaluation record, then
/// <see cref="EvaluationCompleted"/> when the outputs belong to a model version, so the registry can gate on them.
/// </summary>
public sealed class EvaluationRecorder(
    EvaluatorStore store,
    IArtifactStore artifacts,
    EvalSetLibrary library,
    IPublishEndpoint publisher,
    TimeProvider clock,
    ILogger<EvaluationRecorder> logger)
{
    private static readonly JsonSerializerOptions ReportJson = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    /// <param name="evaluationId">
    /// The evaluation's id when it is one that happens once (a build's, "{version}:{set}"), or null for a new one. When
    /// another call recorded that id first, nothing is announced again here: that call announces it.
    /// </param>
    public async Task<EvaluationReport> RecordAsync(EvalSetRecord evalSet, IReadOnlyList<string> outputs, string? modelVersionId, string? evaluationId, CancellationToken cancellationToken)
    {
        var examples = await library.ReadExamplesAsync(evalSet, cancellationToken);
        var score = EvalSetScorer.Score(examples, outputs);
        var id = evaluationId ?? Guid.CreateVersion7().ToString("N");
        var now = clock.GetUtcNow().UtcDateTime;
        var report = new EvaluationReport(id, evalSet.Id, evalSet.Sha256, modelVersionId, now, score.Metrics, score.Bleu, score.ChrF, score.Rouge, score.Examples);

        var reportKey = Evaluation.ReportKeyOf(id);
        await artifacts.PutBytesAsync(reportKey, JsonSerializer.SerializeToUtf8Bytes(report, ReportJson), cancellationToken);
        var inserted = await store.Evaluations.TryInsertAsync(new Evaluation
        {
            Id = id,
            EvalSet = evalSet.Id,
            EvalSetSha256 = evalSet.Sha256,
            ModelVersionId = modelVersionId,
            Metrics = new Dictionary<string, double>(score.Metrics, StringComparer.Ordinal),
            ReportKey = reportKey,
            CreatedAt = now,
        }, CancellationToken.None);
        logger.LogInformation("Evaluation {EvaluationId} of {ModelVersionId} on eval set {EvalSet}: {Metrics}", id, modelVersionId ?? "(no model version)", evalSet.Id, score.Metrics);

        if (modelVersionId is not null && inserted)
            await publisher.Publish(new EvaluationCompleted(id, modelVersionId, evalSet.Id, score.Metrics, now), CancellationToken.None);
        return report;
    }

    public async Task<EvaluationReport> ReadReportAsync(Evaluation evaluation, CancellationToken cancellationToken) =>
        JsonSerializer.Deserialize<EvaluationReport>(await artifacts.ReadAllBytesAsync(evaluation.ReportKey, cancellationToken), ReportJson)
            ?? throw new InvalidDataException($"The report of evaluation {evaluation.Id} is empty.");
}
