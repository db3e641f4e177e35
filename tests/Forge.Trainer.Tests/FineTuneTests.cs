using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Forge.Contracts;
using Forge.Model;
using Forge.Storage.Artifacts;
using Forge.Testing;
using Forge.Trainer.Domain;
using Microsoft.Extensions.DependencyInjection;

namespace Forge.Trainer.Tests;

/// <summary>The trainer host with what a fine-tune needs in its artifact store: a base checkpoint, its tokenizer, its shards and examples.</summary>
public sealed class FineTuneHost : IAsyncLifetime
{
    public const string BaseRun = "run-base";
    public const string Examples = "sft/story.jsonl";

    public TrainerHost Trainer { get; } = new();
    public string BaseCheckpointKey { get; private set; } = "";
    public GptConfig BaseModel { get; } = new() { VocabularySize = TrainerHost.Alphabet.Count, ContextLength = 16, Layers = 2, Heads = 2, Width = 32 };
    public string ReplayShard { get; private set; } = "";
    public string ValidationShard { get; private set; } = "";

    public async Task InitializeAsync()
    {
        await Trainer.InitializeAsync();
        await Trainer.UploadTokenizerAsync();
        ReplayShard = await Trainer.UploadShardAsync("tokens/base/train-00000.bin", 20);
        ValidationShard = await Trainer.UploadShardAsync("tokens/base/validation-00000.bin", 4);
        await Trainer.Artifacts.PutBytesAsync(Examples, Encoding.UTF8.GetBytes(
            "{\"prompt\": \"the quick brown \", \"completion\": \"fox jumps\"}\n{\"prompt\": \"a stitch in \", \"completion\": \"time saves nine.\"}\n"));
        BaseCheckpointKey = await UploadBaseAsync();
    }

    /// <summary>Pretrains a tiny model on the replay shard for a few steps and stores its checkpoint as a run's would be.</summary>
    private async Task<string> UploadBaseAsync()
    {
        using var folder = new TemporaryFolder("base");
        var shard = Path.Combine(folder.Path, "train.bin");
        await File.WriteAllBytesAsync(shard, await Trainer.Artifacts.ReadAllBytesAsync(ReplayShard));
        var saved = Path.Combine(folder.Path, "checkpoint");
        var training = new TrainingConfig { BatchSize = 4, MaxSteps = 10, WarmupSteps = 2, DecaySteps = 10, EvaluationInterval = 0, Threads = 1, Device = "cpu", Precision = "fp32" };
        using (var train = TokenDataset.Open(shard))
        using (var loop = new TrainingLoop(BaseModel, training, train))
        {
            loop.Run();
            Checkpoint.Save(loop, saved);
        }
        var folderKey = ArtifactCheckpoints.FolderKey(BaseRun, 10);
        foreach (var file in new[] { Checkpoint.ModelFile, Checkpoint.OptimizerFile, Checkpoint.TrainerFile, Checkpoint.ManifestFile })
        {
            await using var stream = File.OpenRead(Path.Combine(saved, file));
            await Trainer.Artifacts.PutAsync($"{folderKey}/{file}", stream);
        }
        return $"{folderKey}/{Checkpoint.ManifestFile}";
    }

    public Task DisposeAsync() => Trainer.DisposeAsync();
}

/// <summary>Fine-tunes asked for on the bus (as the orchestrator does for feedback) and over HTTP.</summary>
public sealed class FineTuneTests(FineTuneHost fixture) : IClassFixture<FineTuneHost>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private TrainerHost Host => fixture.Trainer;

    private FineTuneRequested Request(string runId, string? sftDataKey = null, string? baseCheckpointKey = null) => new(
        runId,
        "story",
        "base-v1",
        baseCheckpointKey ?? fixture.BaseCheckpointKey,
        "chars-test",
        sftDataKey ?? FineTuneHost.Examples,
        [fixture.ReplayShard],
        [fixture.ValidationShard],
        ["story-v1"],
        new FineTuneSettings(MaxSteps: 12, LearningRate: 1e-3, BatchSize: 4, ReplayFraction: 0.5, EvaluationInterval: 0, CheckpointInterval: 5, Seed: 3),
        $"retraining-of-{runId}");

    private Task<JsonElement> RunAsync(string runId) => Host.Client.GetFromJsonAsync<JsonElement>($"/api/trainer/runs/{runId}");

    private Task<JsonElement> EndedAsync(string runId) =>
        Eventually.WaitAsync(() => RunAsync(runId), r => r.GetProperty("state").GetString() is "Completed" or "Failed" or "Cancelled", Patience, $"run {runId} to end");

    private async Task<TrainingRunCompleted> CompletedAsync(string runId) =>
        (await Eventually.WaitAsync(() => Task.FromResult(Host.Outcomes.Completed.FirstOrDefault(c => c.RunId == runId)), c => c is not null, Patience, $"TrainingRunCompleted of {runId}"))!;

    private async Task<TrainingRunFailed> FailedAsync(string runId) =>
        (await Eventually.WaitAsync(() => Task.FromResult(Host.Outcomes.Failed.FirstOrDefault(c => c.RunId == runId)), c => c is not null, Patience, $"TrainingRunFailed of {runId}"))!;

    [Fact]
    public async Task ARequestedFineTuneTrainsFromItsBaseAndCompletesWithItsLineage()
    {
        await Host.Bus.Publish(Request("ft-lineage"));

        var completed = await CompletedAsync("ft-lineage");
        var run = await EndedAsync("ft-lineage");

        Assert.Equal("Completed", run.GetProperty("state").GetString());
        Assert.Equal("finetune", run.GetProperty("kind").GetString());
        Assert.Equal(12, run.GetProperty("step").GetInt64());
        Assert.Equal(fixture.BaseModel.Width, run.GetProperty("model").GetProperty("width").GetInt32());
        Assert.Equal(0.0, run.GetProperty("training").GetProperty("weightDecay").GetDouble());
        Assert.Equal([5L, 10, 12], run.GetProperty("checkpoints").EnumerateArray().Select(c => c.GetProperty("step").GetInt64()));
        Assert.Equal("base-v1", completed.BaseVersionId);
        Assert.Equal("retraining-of-ft-lineage", completed.RetrainingId);
        Assert.Equal([fixture.ReplayShard], completed.TrainShards);
        Assert.Equal([fixture.ValidationShard], completed.ValidationShards);
        Assert.Equal("story-v1", completed.DatasetVersion);
        Assert.Equal("chars-test", completed.TokenizerId);
        Assert.NotNull(completed.ValidationLoss);
        Assert.StartsWith("runs/ft-lineage/checkpoints/", completed.CheckpointKey, StringComparison.Ordinal);
        var trainerFile = completed.CheckpointKey[..^Checkpoint.ManifestFile.Length] + Checkpoint.TrainerFile;
        using var state = JsonDocument.Parse(await Host.Artifacts.ReadAllBytesAsync(trainerFile));
        var fineTune = state.RootElement.GetProperty("fineTune");
        Assert.Equal(2, fineTune.GetProperty("examples").GetInt32());
        Assert.Equal(0.5, fineTune.GetProperty("replayFraction").GetDouble());
    }

    [Fact]
    public async Task AFineTuneResumedFromItsOwnCheckpointEndsExactlyAsTheUninterruptedOneDid()
    {
        await Host.Bus.Publish(Request("ft-whole"));
        var whole = await CompletedAsync("ft-whole");
        var store = Host.Services.GetRequiredService<TrainerStore>();
        var original = (await store.Runs.GetAsync("ft-whole"))!;

        // As a trainer that died after step 10 leaves it: its checkpoint is there, its examples are read again.
        await store.Runs.UpsertAsync(original with
        {
            Id = "ft-resumed",
            State = RunState.Queued,
            Lease = null,
            Step = 10,
            Checkpoints = [original.Checkpoints.Single(c => c.Step == 10)],
            Segments = [],
            Curve = [],
            FinishedAt = null,
        });
        await Host.Bus.Publish(new StartTrainingRun("ft-resumed"));
        var resumed = await CompletedAsync("ft-resumed");
        var run = await RunAsync("ft-resumed");

        Assert.Equal(10, Assert.Single(run.GetProperty("segments").EnumerateArray()).GetProperty("fromStep").GetInt64());
        Assert.Equal(whole.FinalLoss, resumed.FinalLoss);
        Assert.Equal(whole.ValidationLoss, resumed.ValidationLoss);
    }

    [Fact]
    public async Task ARedeliveredRequestDoesNotStartASecondRun()
    {
        var request = Request("ft-redelivered");
        await Task.WhenAll(Host.Bus.Publish(request), Host.Bus.Publish(request));
        await CompletedAsync("ft-redelivered");
        var first = await EndedAsync("ft-redelivered");

        await Host.Bus.Publish(request);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var after = await RunAsync("ft-redelivered");

        Assert.Equal("Completed", after.GetProperty("state").GetString());
        Assert.Single(after.GetProperty("segments").EnumerateArray());
        Assert.Equal(first.GetProperty("createdAt").GetString(), after.GetProperty("createdAt").GetString());
        // The run ended before the repeat, so its end is announced again (with its lineage), for an orchestrator that missed it.
        var announced = Host.Outcomes.Completed.Where(c => c.RunId == "ft-redelivered").ToList();
        Assert.Equal(2, announced.Count);
        Assert.Equal(announced[0].CheckpointKey, announced[1].CheckpointKey);
        Assert.Equal(announced[0].BaseVersionId, announced[1].BaseVersionId);
        Assert.DoesNotContain(Host.Outcomes.Failed, f => f.RunId == "ft-redelivered");
    }

    [Fact]
    public async Task AFineTuneWhoseExamplesOrBaseAreMissingFailsWithTheReasonAndNeverStarts()
    {
        await Host.Bus.Publish(Request("ft-no-examples", sftDataKey: "sft/missing.jsonl"));
        await Host.Bus.Publish(Request("ft-no-base", baseCheckpointKey: "runs/nobody/checkpoints/step-00000001/manifest.json"));

        var noExamples = await FailedAsync("ft-no-examples");
        var noBase = await FailedAsync("ft-no-base");
        var run = await RunAsync("ft-no-examples");

        Assert.Equal("sftDataKey: There is no file 'sft/missing.jsonl'.", noExamples.Reason);
        Assert.StartsWith("baseCheckpointKey: There is no checkpoint", noBase.Reason, StringComparison.Ordinal);
        Assert.Equal("Failed", run.GetProperty("state").GetString());
        Assert.Equal(noExamples.Reason, run.GetProperty("failure").GetString());
        Assert.Equal(fixture.BaseModel.Width, run.GetProperty("model").GetProperty("width").GetInt32());
        Assert.Empty(run.GetProperty("segments").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, (await RunAsync("ft-no-base")).GetProperty("model").ValueKind);
    }

    [Fact]
    public async Task FineTunesOverHttpAreQueuedOrRefusedNamingTheField()
    {
        await Host.Artifacts.PutBytesAsync("sft/bad.jsonl", Encoding.UTF8.GetBytes("{\"prompt\": \"the \", \"completion\": \"fox\"}\n{\"prompt\": \"the \"}\n"));
        object Body(string? sft = FineTuneHost.Examples, string? baseKey = null, object? settings = null, string[]? replay = null) => new
        {
            name = "story-http",
            baseCheckpointKey = baseKey ?? fixture.BaseCheckpointKey,
            sftDataKey = sft,
            replayShards = replay ?? [fixture.ReplayShard],
            settings = settings ?? new { maxSteps = 6, batchSize = 4, replayFraction = 0.25, checkpointInterval = 0 },
        };
        var cases = new (object Body, string Field, string Says)[]
        {
            (Body(baseKey: "runs/nobody/checkpoints/step-00000001/manifest.json"), "baseCheckpointKey", "There is no checkpoint"),
            (Body(baseKey: "tokens/base/train-00000.bin"), "baseCheckpointKey", "not a checkpoint's manifest key"),
            (Body(sft: null), "sftDataKey", "Name the JSONL"),
            (Body(sft: "sft/missing.jsonl"), "sftDataKey", "There is no file"),
            (Body(sft: "sft/bad.jsonl"), "sftDataKey", "Line 2, completion"),
            (Body(settings: new { replayFraction = 1.0 }), "settings.replayFraction", "[0, 1)"),
            (Body(settings: new { maxSteps = 0 }), "settings", "MaxSteps"),
            (Body(settings: new { epochs = 3 }), "settings.epochs", ""),
            (Body(replay: []), "replayShards", "needs replay shards"),
            (Body(replay: ["tokens/base/missing.bin"]), "replayShards[0]", "There is no token shard"),
        };
        foreach (var (body, field, says) in cases)
        {
            using var refused = await Host.Client.PostAsJsonAsync("/api/trainer/finetunes", body);
            var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(refused.StatusCode == HttpStatusCode.UnprocessableEntity, $"{field}: {refused.StatusCode} {problem}");
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out var reasons), $"{field} not named in {problem}");
            Assert.Contains(says, reasons[0].GetString(), StringComparison.Ordinal);
        }
        await Eventually.WaitAsync(() => Task.FromResult(Host.Rejections.Count(r => cases.Any(c => c.Field == r.Field))), count => count >= cases.Length, TimeSpan.FromSeconds(10), "a rejection event per refused fine-tune");

        using var accepted = await Host.Client.PostAsJsonAsync("/api/trainer/finetunes", Body());
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var queued = await accepted.Content.ReadFromJsonAsync<JsonElement>();
        var runId = queued.GetProperty("id").GetString()!;
        Assert.Equal("finetune", queued.GetProperty("kind").GetString());
        Assert.Equal(fixture.BaseModel.ContextLength, queued.GetProperty("model").GetProperty("contextLength").GetInt32());
        Assert.Equal("chars-test", queued.GetProperty("tokenizerId").GetString());
        Assert.Equal(0.25, queued.GetProperty("replayFraction").GetDouble());
        Assert.Equal(6, queued.GetProperty("training").GetProperty("maxSteps").GetInt64());
        Assert.Equal("Completed", (await EndedAsync(runId)).GetProperty("state").GetString());
    }
}
