using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Forge.Storage.Artifacts;
using Forge.Testing;
using Forge.Tokenization;
using Xunit.Abstractions;

namespace Forge.EndToEnd.Tests;

/// <summary>
/// A sweep in the distributed mode: the orchestrator and two trainer replicas as real processes on the real RabbitMQ,
/// the trainers sharing runs through leases in one metadata file and checkpoints in S3, as in <see cref="TrainerReplicaTests"/>.
/// </summary>
public sealed class SweepReplicaTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Tokenizer = "chars-sweeps";
    private const int MaxSteps = 300;
    private static readonly string[] Replicas = ["sweep-replica-1", "sweep-replica-2"];
    private readonly TemporaryFolder _data = new("sweep-replicas");
    private readonly string _run = Guid.NewGuid().ToString("N")[..10];
    private readonly List<ServiceProcess> _processes = [];
    private ProcessServers? _servers;
    private string? _skip;
    private ServiceProcess? _orchestrator;
    private ServiceProcess? _trainer;

    public async Task InitializeAsync()
    {
        (_servers, _skip) = ProcessServers.Find("sweeps", _run);
        if (_servers is null)
            return;
        var shared = _servers.Environment;
        await _servers.UploadShardAsync("tokens/sweeps/train.bin", 60, Tokenizer);
        await _servers.UploadShardAsync("tokens/sweeps/validation.bin", 10, Tokenizer);

        var starting = Replicas.Select(replica => StartAsync(replica, "services/Trainer/Forge.Trainer.Host", new Dictionary<string, string>(shared)
        {
            ["Forge__MetadataShared"] = "true",
            ["Forge__DataPath"] = Path.Combine(_data.Path, "trainers"),
            ["Trainer__ReplicaId"] = replica,
            ["Trainer__WorkFolder"] = Path.Combine(_data.Path, $"work-{replica}"),
            ["Trainer__JobLimit"] = "1",
            ["Trainer__Threads"] = "1",
            ["Trainer__HeartbeatInterval"] = "00:00:00.100",
            ["Trainer__SweepInterval"] = "00:00:01",
        })).Append(StartAsync("orchestrator", "services/Orchestrator/Forge.Orchestrator.Host", new Dictionary<string, string>(shared)
        {
            ["Forge__DataPath"] = Path.Combine(_data.Path, "orchestrator"),
        })).ToList();
        try
        {
            var started = await Task.WhenAll(starting);
            (_trainer, _orchestrator) = (started[0], started[^1]);
        }
        catch
        {
            // xunit does not dispose a test class whose initialisation failed: stop what did start.
            await DisposeAsync();
            throw;
        }
    }

    private async Task<ServiceProcess> StartAsync(string name, string folder, Dictionary<string, string> environment)
    {
        var process = await ServiceProcess.StartAsync(name, folder, Path.GetFileName(folder), environment);
        lock (_processes)
            _processes.Add(process);
        return process;
    }

    [SkippableFact]
    public async Task ASweepOfSixTrialsRunsOnTwoTrainerReplicasPrunesAndRegistersTheBest()
    {
        Skip.If(_skip is not null, _skip);
        var watch = Stopwatch.StartNew();
        using var orchestrator = new HttpClient { BaseAddress = _orchestrator!.Address };
        using var trainer = new HttpClient { BaseAddress = _trainer!.Address };
        var vocabulary = ProcessServers.Corpus.Distinct().Count();
        using var response = await orchestrator.PostAsJsonAsync("/api/orchestrator/sweeps", new
        {
            name = "swept-apart",
            tokenizerId = Tokenizer,
            trainShards = new[] { "tokens/sweeps/train.bin" },
            validationShards = new[] { "tokens/sweeps/validation.bin" },
            model = new { architecture = "gpt", vocabularySize = vocabulary, layers = 1, heads = 2, width = 32, contextLength = 16, dropout = 0.0 },
            training = new { batchSize = 4, maxSteps = MaxSteps, warmupSteps = 5, decaySteps = MaxSteps, learningRate = 3e-3, minLearningRate = 1e-6, evaluationInterval = 10, evaluationBatches = 2, logInterval = 10, seed = 3 },
            parameters = new Dictionary<string, object> { ["training.learningRate"] = new[] { 3e-3, 1e-2, 1e-6 }, ["model.width"] = new[] { 32, 48 } },
            pruning = new { rule = "median", warmupEvaluations = 1 },
        });
        var started = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, started.ToString());

        var sweep = await SweepTests.FinishedAsync(orchestrator, started.GetProperty("id").GetString()!, TimeSpan.FromSeconds(150));
        output.WriteLine($"sweep ended after {watch.Elapsed.TotalSeconds:F1}s: {sweep}");

        Assert.True(sweep.GetProperty("state").GetString() == "Completed", $"{sweep}\n{string.Join("\n", _processes.Select(p => p.Output))}");
        var trials = sweep.GetProperty("trials").EnumerateArray().ToList();
        Assert.Equal(6, trials.Count);
        Assert.Contains(trials, t => t.GetProperty("state").GetString() == "Pruned" && t.GetProperty("steps").GetInt64() < MaxSteps);
        // Both replicas trained trials, each trial on one replica only.
        var owners = new List<string>();
        foreach (var trial in trials)
        {
            var run = await trainer.GetFromJsonAsync<JsonElement>($"/api/trainer/runs/{trial.GetProperty("runId").GetString()}");
            owners.Add(Assert.Single(run.GetProperty("segments").EnumerateArray()).GetProperty("owner").GetString()!);
        }
        Assert.Equal(Replicas, owners.Distinct().Order());
        var versions = (await orchestrator.GetFromJsonAsync<JsonElement>("/api/orchestrator/models?model=swept-apart")).EnumerateArray().ToList();
        Assert.Equal(sweep.GetProperty("bestRunId").GetString(), Assert.Single(versions).GetProperty("runId").GetString());
    }

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
            await process.DisposeAsync();
        _servers?.Dispose();
        _data.Dispose();
    }
}
