using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Forge.Testing;

namespace Forge.Trainer.Tests;

/// <summary>The trainer service over real HTTP: runs are validated at submission, then claimed, trained, checkpointed and finished.</summary>
public sealed class TrainingRunsApiTests(TrainerHost host) : IClassFixture<TrainerHost>
{
    private static object TinyModel(int heads = 2, int width = 32, int context = 16) =>
        new { architecture = "gpt", layers = 2, heads, width, contextLength = context, dropout = 0.0 };

    private static object ShortTraining(int steps = 40, int checkpointEvery = 15) =>
        new { batchSize = 4, maxSteps = steps, warmupSteps = 5, decaySteps = steps, learningRate = 3e-3, minLearningRate = 3e-4, checkpointInterval = checkpointEvery, evaluationInterval = 20, evaluationBatches = 2, logInterval = 5, seed = 7 };

    private async Task<(HttpStatusCode Status, JsonElement Body)> SubmitAsync(object run)
    {
        using var response = await host.Client.PostAsJsonAsync("/api/trainer/runs", run);
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    [Fact]
    public async Task ARunIsTrainedToItsLastStepWithCheckpointsAndALossCurve()
    {
        var train = await host.UploadShardAsync("tokens/test/train-00000.bin", 40);
        var validation = await host.UploadShardAsync("tokens/test/validation-00000.bin", 8);

        var (status, run) = await SubmitAsync(new { name = "tiny", model = TinyModel(), training = ShortTraining(), trainShards = new[] { train }, validationShards = new[] { validation } });
        Assert.Equal(HttpStatusCode.Accepted, status);
        var runId = run.GetProperty("id").GetString();
        var finished = await Eventually.WaitAsync(
            () => host.Client.GetFromJsonAsync<JsonElement>($"/api/trainer/runs/{runId}"),
            r => r.GetProperty("state").GetString() is "Completed" or "Failed",
            TimeSpan.FromSeconds(90), "the run to finish");

        Assert.Equal("Completed", finished.GetProperty("state").GetString());
        Assert.Equal(40, finished.GetProperty("step").GetInt64());
        var checkpoints = finished.GetProperty("checkpoints").EnumerateArray().Select(c => c.GetProperty("step").GetInt64()).ToList();
        Assert.Equal([15L, 30, 40], checkpoints);
        var curve = finished.GetProperty("curve").EnumerateArray().Where(p => p.GetProperty("loss").ValueKind == JsonValueKind.Number).ToList();
        Assert.True(curve[^1].GetProperty("loss").GetDouble() < curve[0].GetProperty("loss").GetDouble(), "the loss fell");
        Assert.True(finished.GetProperty("validationLoss").GetDouble() > 0);
        var segment = Assert.Single(finished.GetProperty("segments").EnumerateArray());
        Assert.Equal(0, segment.GetProperty("fromStep").GetInt64());
        Assert.Equal(40, segment.GetProperty("toStep").GetInt64());
        var manifests = await host.Artifacts.ListAsync($"runs/{runId}/checkpoints/").Where(a => a.Key.EndsWith("manifest.json", StringComparison.Ordinal)).ToListAsync();
        Assert.Equal(3, manifests.Count);
    }

    [Fact]
    public async Task OnlyTheNewestCheckpointsAreKept()
    {
        var train = await host.UploadShardAsync("tokens/keep/train.bin", 20);

        var (_, run) = await SubmitAsync(new { model = TinyModel(), training = ShortTraining(steps: 30, checkpointEvery: 5), trainShards = new[] { train } });
        var finished = await Eventually.WaitAsync(
            () => host.Client.GetFromJsonAsync<JsonElement>($"/api/trainer/runs/{run.GetProperty("id").GetString()}"),
            r => r.GetProperty("state").GetString() is "Completed" or "Failed", TimeSpan.FromSeconds(90), "the run to finish");

        Assert.Equal([20L, 25, 30], finished.GetProperty("checkpoints").EnumerateArray().Select(c => c.GetProperty("step").GetInt64()));
        var folders = await host.Artifacts.ListAsync($"runs/{run.GetProperty("id").GetString()}/checkpoints/").Select(a => a.Key.Split('/')[3]).Distinct().ToListAsync();
        Assert.Equal(3, folders.Count);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)] // a checkpoint (whose write is also a heartbeat) every few steps: the request is still seen
    public async Task ARunningRunCanBeCancelled(int checkpointEvery)
    {
        var train = await host.UploadShardAsync($"tokens/cancel-{checkpointEvery}/train.bin", 20);
        var (_, run) = await SubmitAsync(new { model = TinyModel(), training = ShortTraining(steps: 100_000, checkpointEvery: checkpointEvery), trainShards = new[] { train } });
        var runId = run.GetProperty("id").GetString();
        await Eventually.WaitAsync(() => host.Client.GetFromJsonAsync<JsonElement>($"/api/trainer/runs/{runId}"), r => r.GetProperty("step").GetInt64() > 0, TimeSpan.FromSeconds(60), "training to start");

        using var cancel = await host.Client.PostAsync($"/api/trainer/runs/{runId}/cancel", null);
        var cancelled = await Eventually.WaitAsync(() => host.Client.GetFromJsonAsync<JsonElement>($"/api/trainer/runs/{runId}"), r => r.GetProperty("state").GetString() == "Cancelled", TimeSpan.FromSeconds(30), "the run to stop");
        using var again = await host.Client.PostAsync($"/api/trainer/runs/{runId}/cancel", null);

        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.True(cancelled.GetProperty("step").GetInt64() < 100_000);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task BadConfigurationsAreRefusedAtSubmissionNamingTheField()
    {
        var train = await host.UploadShardAsync("tokens/bad/train.bin", 2);

        var cases = new (object Run, string Field)[]
        {
            (new { model = TinyModel(heads: 3, width: 32), trainShards = new[] { train } }, "model"),
            (new { model = TinyModel(context: 4096), trainShards = new[] { train } }, "model.contextLength"),
            (new { model = TinyModel(), trainShards = new[] { "tokens/missing/train.bin" } }, "trainShards[0]"),
            (new { model = TinyModel(), trainShards = Array.Empty<string>() }, "trainShards"),
            (new { model = TinyModel(), trainShards = new[] { train }, tokenizerId = "another-tokenizer" }, "tokenizerId"),
            (new { model = TinyModel(), training = new { batchSize = 0 }, trainShards = new[] { train } }, "training"),
            (new { model = TinyModel(), trainShards = new[] { train }, epochs = 3 }, "epochs"),
        };
        foreach (var (run, field) in cases)
        {
            var (status, problem) = await SubmitAsync(run);
            Assert.True(status == HttpStatusCode.UnprocessableEntity, $"{field}: {status} {problem}");
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{field} not named in {problem}");
        }
        await Eventually.WaitAsync(() => Task.FromResult(host.Rejections.Count), count => count >= cases.Length, TimeSpan.FromSeconds(10), "a rejection event per refused run");
        Assert.Equal(cases.Select(c => c.Field).Order(), host.Rejections.Select(r => r.Field).Where(f => cases.Any(c => c.Field == f)).Distinct().Order());
        var runs = await host.Client.GetFromJsonAsync<JsonElement>("/api/trainer/runs");
        Assert.DoesNotContain(runs.EnumerateArray(), r => r.GetProperty("trainShards")[0].GetString() is "tokens/missing/train.bin" or "tokens/bad/train.bin");
    }

    [Fact]
    public async Task AnUnknownRunIsNotFound()
    {
        using var get = await host.Client.GetAsync("/api/trainer/runs/run-nope");
        using var cancel = await host.Client.PostAsync("/api/trainer/runs/run-nope/cancel", null);

        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, cancel.StatusCode);
    }
}
