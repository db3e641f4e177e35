using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Forge.Storage.Artifacts;
using Forge.Testing;
using Forge.Tokenization;
using Xunit.Abstractions;

namespace Forge.EndToEnd.Tests;

/// <summary>
/// A trainer process killed while it writes a checkpoint: the half-written checkpoint (files without a manifest) is
/// never loaded, the previous complete one is, and a second trainer finishes the run from it.
/// </summary>
public sealed class ReliabilityCheckpointTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int CheckpointEvery = 10;
    private readonly TemporaryFolder _data = new("checkpoints");
    private readonly string _run = Guid.NewGuid().ToString("N")[..10];
    private readonly List<ServiceProcess> _trainers = [];
    private Dictionary<string, string>? _environment;
    private ProcessServers? _servers;
    private string? _skip;

    public async Task InitializeAsync()
    {
        (_servers, _skip) = ProcessServers.Find("checkpoints", _run);
        if (_servers is null)
            return;
        _environment = new Dictionary<string, string>(_servers.Environment)
        {
            ["Forge__MetadataShared"] = "true",
            ["Forge__DataPath"] = Path.Combine(_data.Path, "shared"),
            ["Trainer__LeaseDuration"] = "00:00:04",
            ["Trainer__HeartbeatInterval"] = "00:00:00.500",
            ["Trainer__SweepInterval"] = "00:00:01",
            ["Trainer__Threads"] = "1",
            ["Trainer__KeepCheckpoints"] = "100",
        };
        await _servers.UploadShardAsync("tokens/checkpoints/train.bin", 60, "chars-checkpoints");
        await _servers.UploadShardAsync("tokens/checkpoints/validation.bin", 10, "chars-checkpoints");
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

    [SkippableFact]
    public async Task ATrainerKilledWhileWritingACheckpointIsResumedFromThePreviousCompleteOne()
    {
        Skip.If(_skip is not null, _skip);
        var first = await StartTrainerAsync("writer-a");
        using var client = new HttpClient { BaseAddress = first.Address };
        // Wide enough that a checkpoint (weights and AdamW moments) takes a while to upload, written every few steps.
        using var submitted = await client.PostAsJsonAsync("/api/trainer/runs", new
        {
            model = new { architecture = "gpt", layers = 4, heads = 4, width = 256, contextLength = 16, dropout = 0.0 },
            training = new { batchSize = 2, maxSteps = 200, warmupSteps = 5, decaySteps = 200, learningRate = 1e-3, minLearningRate = 1e-4, checkpointInterval = CheckpointEvery, evaluationInterval = 1000, evaluationBatches = 1, logInterval = 10, seed = 5 },
            trainShards = new[] { "tokens/checkpoints/train.bin" },
            validationShards = new[] { "tokens/checkpoints/validation.bin" },
        });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var runId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        // Kill the trainer the moment a checkpoint folder has files but no manifest yet (after at least one complete one).
        var prefix = $"runs/{runId}/checkpoints/";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        var caught = false;
        while (!caught && DateTime.UtcNow < deadline)
        {
            var (complete, partial) = await CheckpointsAsync(prefix);
            if (complete.Count > 0 && partial.Count > 0)
            {
                await first.KillAsync();
                caught = true;
            }
            else
            {
                await Task.Delay(10);
            }
        }
        Assert.True(caught, "never saw a checkpoint being written");
        var (completeAfterKill, partialAfterKill) = await CheckpointsAsync(prefix);
        output.WriteLine($"killed: complete checkpoints {string.Join(", ", completeAfterKill)}; half-written {string.Join(", ", partialAfterKill)}");
        Assert.NotEmpty(partialAfterKill);
        var previous = completeAfterKill.Max();

        var second = await StartTrainerAsync("writer-b");
        using var secondClient = new HttpClient { BaseAddress = second.Address };
        var run = await Eventually.WaitAsync(() => secondClient.GetFromJsonAsync<JsonElement>($"/api/trainer/runs/{runId}"),
            r => r.GetProperty("state").GetString() is "Completed" or "Failed", TimeSpan.FromSeconds(240), "writer-b to finish the run");

        Assert.Equal("Completed", run.GetProperty("state").GetString());
        Assert.Equal(200, run.GetProperty("step").GetInt64());
        var segments = run.GetProperty("segments").EnumerateArray().ToList();
        Assert.Equal(["writer-a", "writer-b"], segments.Select(s => s.GetProperty("owner").GetString()));
        Assert.Equal(previous, segments[1].GetProperty("fromStep").GetInt64());
    }

    /// <summary>Steps of the checkpoints with a manifest (complete), and of those with files but none (being written).</summary>
    private async Task<(List<long> Complete, List<long> Partial)> CheckpointsAsync(string prefix)
    {
        var folders = new Dictionary<long, bool>();
        await foreach (var item in _servers!.Artifacts.ListAsync(prefix))
        {
            var parts = item.Key[prefix.Length..].Split('/');
            if (parts.Length < 2 || !parts[0].StartsWith("step-", StringComparison.Ordinal))
                continue;
            var step = long.Parse(parts[0]["step-".Length..], System.Globalization.CultureInfo.InvariantCulture);
            folders[step] = folders.GetValueOrDefault(step) || parts[^1] == "manifest.json";
        }
        return ([.. folders.Where(f => f.Value).Select(f => f.Key).Order()], [.. folders.Where(f => !f.Value).Select(f => f.Key).Order()]);
    }

    public async Task DisposeAsync()
    {
        foreach (var trainer in _trainers)
            await trainer.DisposeAsync();
        _servers?.Dispose();
        _data.Dispose();
    }
}
