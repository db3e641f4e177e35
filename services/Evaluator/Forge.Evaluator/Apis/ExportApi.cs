using Forge.Serving;
using Forge.Evaluator.Domain;
using Forge.Model;
using Forge.ServiceDefaults;
using Forge.Storage.Artifacts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Forge.Evaluator.Apis;

public sealed record ExportedModel(string ModelVersionId, string Folder, IReadOnlyList<string> Files);

/// <summary>A registered model version in Hugging Face's GPT-2 layout, so that transformers can load it.</summary>
public static class ExportApi
{
    public static RouteHandlerBuilder MapExportApi(this IEndpointRouteBuilder routes) =>
        routes.MapPost("/api/evaluator/models/{modelVersionId}/export", ExportAsync)
            .WithTags("Export")
            .WithName("ExportModelVersion")
            .WithSummary("Writes config.json, model.safetensors (GPT-2 tensor names) and tokenizer.json under models/{version}/huggingface/");

    private static async Task<Results<Ok<ExportedModel>, ProblemHttpResult>> ExportAsync(string modelVersionId, EvaluatorStore store, IArtifactStore artifacts, CancellationToken cancellationToken)
    {
        if (await store.ModelVersions.GetAsync(modelVersionId, cancellationToken) is not { } version)
            return Problems.NotFound("model version", modelVersionId);
        var local = Directory.CreateTempSubdirectory("forge-export-");
        try
        {
            using var model = await ModelArtifacts.LoadModelAsync(artifacts, version.CheckpointKey, ModelArtifacts.WorkFolder, cancellationToken);
            var tokenizerKey = $"tokenizers/{version.TokenizerId}/tokenizer.json";
            await using var tokenizer = await artifacts.StatAsync(tokenizerKey, cancellationToken) is null ? null : await artifacts.OpenReadAsync(tokenizerKey, cancellationToken);
            try
            {
                HuggingFaceGpt2.Export(model, local.FullName, tokenizer);
            }
            catch (NotSupportedException e)
            {
                return Problems.Invalid("model", e.Message);
            }
            var folder = $"models/{modelVersionId}/huggingface";
            var files = new List<string>();
            foreach (var file in local.GetFiles().OrderBy(f => f.Name, StringComparer.Ordinal))
            {
                await using var stream = file.OpenRead();
                await artifacts.PutAsync($"{folder}/{file.Name}", stream, cancellationToken);
                files.Add($"{folder}/{file.Name}");
            }
            return TypedResults.Ok(new ExportedModel(modelVersionId, folder, files));
        }
        finally
        {
            local.Delete(recursive: true);
        }
    }
}
