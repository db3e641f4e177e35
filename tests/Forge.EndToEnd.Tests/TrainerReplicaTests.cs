using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Forge.Storage.Artifacts;
using Forge.Testing;
using Forge.Tokenization;

namespace Forge.EndToEnd.Tests;

/// <summary>
/// Trainer replicas as real processes on the real RabbitMQ, sharing runs through leases in one metadata file
/// (the embedded store in shared mode) and checkpoints in S3: a killed trainer's run is taken over and finished,
/// and replicas share queued runs without training any twice.
/// </summary>
public sealed class TrainerReplicaTests : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(4);
    private readonly TemporaryFolder _data = new("replicas");
    private readonly string _run = Guid.NewGuid().ToString("N")[..10];
    private readonly List<ServiceProcess> _trainers = [];
    private Dictionary<string, string>? _environment;
    private ProcessServers? _servers;
    private string? _skip;

    public async Task InitializeAsync()
    {
        (_servers, _skip) = ProcessServers.Find("replicas", _run);
        if (_servers is null)
            return;
        _environment = new Dictionary<string, string>(_servers.Environment)
        {
            ["Forge__MetadataShared"] = "true",
            ["Forge__DataPath"] = Path.Combine(_data.Path, "shared"),
            ["Trainer__LeaseDuration"] = Lease.ToString(),
            ["Trainer__HeartbeatInterval"] = "00:00:00.500",
            ["Trainer__SweepInterval"] = "00:00:01",
            ["Trainer__Threads"] = "1",
        };
        await _servers.UploadShardAsync("tokens/replicas/train.bin", 60, "chars-replicas");
        await _servers.UploadShardAsync("tokens/replicas/validation.bin", 10, "chars-replicas");
    }

    private async Task<ServiceProcess> StartTrainerAsync(string name)
    {
        var environment = new Dictionary<string, string>(_environment!)
        {
            ["Trainer__ReplicaId"] = name,
            ["Trainer__WorkFolder"] = Path.Combine(_data.Path, $"work-{name}"),
        };
        var trainer = await ServiceProcess.StartAsync(name, "services/Trainer/Forge.Trainer.Host", "Forge.Trainer.Host", environment);
        _trainers.Add(trainer);
        return trainer;
    }

    private static async Task<string> SubmitAsync(HttpClient client, long steps, int checkpointEvery)
    {
        using var response = await client.PostAsJsonAsync("/api/trainer/runs", new
        {
            model = new { architecture = "gpt", layers = 2, heads = 2, width = 32, contextLength = 16, dropout = 0.0 },
            training = new { batchSize = 4, maxSteps = steps, warmupSteps = 10, decaySteps = steps, learningRate = 3e-3, minLearningRate = 3e-4, checkpointInterval = checkpointEvery, evaluationInterval = 100, evaluationBatches = 2, logInterval = 10, seed = 3 },
            trainShards = new[] { "tokens/replicas/train.bin" },
            validationShards = new[] { "tokens/replicas/validation.bin" },
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    private static Task<JsonElement> WaitForAsync(HttpClient client, string runId, Func<JsonElement, bool> condition, TimeSpan timeout, string what) =>
        Eventually.WaitAsync(() => client.GetFromJsonAsync<JsonElement>($"/api/trainer/runs/{runId}"), condition, timeout, what);

    [SkippableFact]
    public async Task AKilledTrainersRunIsResumedByAnotherFromTheLastCheckpointAndFinished()
    {
        Skip.If(_skip is not null, _skip);
        var first = await StartTrainerAsync("trainer-a");
        using var client = new HttpClient { BaseAddress = first.Address };
        var runId = await SubmitAsync(client, steps: 600, checkpointEvery: 50);
        await WaitForAsync(client, runId, r => r.GetProperty("step").GetInt64() >= 130 && r.GetProperty("checkpoints").GetArrayLength() >= 2, TimeSpan.FromSeconds(120), "trainer-a to pass two checkpoints");
        // The newest checkpoint recorded just before the kill (one more may land between this read and the kill).
        var beforeKill = await client.GetFromJsonAsync<JsonElement>($"/api/trainer/runs/{runId}");
        var newestBeforeKill = beforeKill.GetProperty("checkpoints").EnumerateArray().Max(c => c.GetProperty("step").GetInt64());

        await first.KillAsync();
        var second = await StartTrainerAsync("trainer-b");
        using var secondClient = new HttpClient { BaseAddress = second.Address };
        var run = await WaitForAsync(secondClient, runId, r => r.GetProperty("state").GetString() is "Completed" or "Failed", TimeSpan.FromSeconds(180), "trainer-b to finish the run");

        Assert.Equal("Completed", run.GetProperty("state").GetString());
        Assert.Equal(600, run.GetProperty("step").GetInt64());
        var segments = run.GetProperty("segments").EnumerateArray().ToList();
        Assert.Equal(["trainer-a", "trainer-b"], segments.Select(s => s.GetProperty("owner").GetString()));
        Assert.Equal([1, 2], segments.Select(s => s.GetProperty("epoch").GetInt32()));
        var (killed, resumed) = (segments[0], segments[1]);
        var resumedFrom = resumed.GetProperty("fromStep").GetInt64();
        Assert.True(resumedFrom > 0 && resumedFrom % 50 == 0, $"resumed from step {resumedFrom}, a checkpoint");
        // From the newest checkpoint, not an older one: nothing trained after it is redone.
        Assert.True(resumedFrom >= newestBeforeKill && resumedFrom <= newestBeforeKill + 50, $"resumed from step {resumedFrom}; the newest checkpoint before the kill was {newestBeforeKill}");
        Assert.True(resumedFrom <= killed.GetProperty("toStep").GetInt64() + 50);
        // Never at once: the successor claimed only after the killed trainer's lease ran out.
        Assert.True(resumed.GetProperty("startedAt").GetDateTime() >= killed.GetProperty("lastBeatAt").GetDateTime() + Lease);
        // The loss carries on from where it was rather than starting again from an untrained model.
        var curve = run.GetProperty("curve").EnumerateArray().Where(p => p.GetProperty("loss").ValueKind == JsonValueKind.Number).ToList();
        var firstLoss = curve[0].GetProperty("loss").GetDouble();
        var afterResume = curve.First(p => p.GetProperty("step").GetInt64() > resumedFrom).GetProperty("loss").GetDouble();
        Assert.True(afterResume < firstLoss - 0.5, $"loss {afterResume:F3} after resuming, {firstLoss:F3} at the start");
    }

    [SkippableFact]
    public async Task TwoReplicasShareThreeQueuedRunsAndTrainNoneTwice()
    {
        Skip.If(_skip is not null, _skip);
        var one = await StartTrainerAsync("replica-1");
        await StartTrainerAsync("replica-2");
        using var client = new HttpClient { BaseAddress = one.Address };
        var runs = new List<string>();
        for (var i = 0; i < 3; i++)
            runs.Add(await SubmitAsync(client, steps: 150, checkpointEvery: 50));

        var finished = new List<JsonElement>();
        foreach (var runId in runs)
            finished.Add(await WaitForAsync(client, runId, r => r.GetProperty("state").GetString() is "Completed" or "Failed", TimeSpan.FromSeconds(180), $"run {runId} to finish"));

        Assert.All(finished, run => Assert.Equal("Completed", run.GetProperty("state").GetString()));
        Assert.All(finished, run => Assert.Single(run.GetProperty("segments").EnumerateArray()));
        var owners = finished.Select(run => run.GetProperty("segments")[0].GetProperty("owner").GetString()).ToHashSet();
        Assert.Equal(["replica-1", "replica-2"], owners.Order());
    }

    public async Task DisposeAsync()
    {
        foreach (var trainer in _trainers)
            await trainer.DisposeAsync();
        _servers?.Dispose();
        _data.Dispose();
    }
}
