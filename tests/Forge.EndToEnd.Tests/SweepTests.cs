using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Forge.Testing;
using Xunit.Abstractions;

namespace Forge.EndToEnd.Tests;

/// <summary>The embedded host with prepared data, a trainer that runs two trials at once and stops a cancelled run within a tenth of a second.</summary>
public sealed class SweepForge : EmbeddedForge
{
    public PreparedData Data { get; private set; } = null!;
    public int VocabularySize { get; private set; }

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Trainer:JobLimit"] = "2",
        ["Trainer:Threads"] = "1",
        ["Trainer:HeartbeatInterval"] = "00:00:00.100",
    };

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Data = await ModelPipeline.PrepareDataAsync(Client, "bpe-sweeps");
        VocabularySize = (await Client.GetFromJsonAsync<JsonElement>($"/api/tokenizer/tokenizers/{Data.TokenizerId}")).GetProperty("vocabularySize").GetInt32();
    }
}

/// <summary>Hyperparameter sweeps in the embedded mode over real HTTP: trials fan out to the trainer, weak ones are pruned, the best is registered.</summary>
public sealed class SweepTests(SweepForge forge, ITestOutputHelper output) : IClassFixture<SweepForge>
{
    private const int MaxSteps = 200;

    private HttpClient Client => forge.Client;

    /// <summary>A sweep body: tiny models, evaluated every 10 steps, judged by the median rule unless told otherwise.</summary>
    public static Dictionary<string, object?> Sweep(string name, PreparedData data, int vocabularySize, object parameters, object? pruning = null) => new()
    {
        ["name"] = name,
        ["tokenizerId"] = data.TokenizerId,
        ["datasetVersion"] = data.DatasetVersion,
        ["trainShards"] = data.TrainShards,
        ["validationShards"] = data.ValidationShards,
        ["model"] = new { architecture = "gpt", vocabularySize, layers = 1, heads = 2, width = 32, contextLength = 32, dropout = 0.0 },
        ["training"] = new { batchSize = 8, maxSteps = MaxSteps, warmupSteps = 5, decaySteps = MaxSteps, learningRate = 3e-3, minLearningRate = 1e-6, evaluationInterval = 10, evaluationBatches = 4, logInterval = 10, seed = 7 },
        ["parameters"] = parameters,
        ["strategy"] = "grid",
        ["pruning"] = pruning ?? new { rule = "median", warmupEvaluations = 1 },
    };

    private async Task<JsonElement> PostAsync(object body, HttpStatusCode expected)
    {
        using var response = await Client.PostAsJsonAsync("/api/orchestrator/sweeps", body);
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {answer}");
        return answer;
    }

    public static Task<JsonElement> FinishedAsync(HttpClient client, string sweepId, TimeSpan timeout) =>
        Eventually.WaitAsync(() => client.GetFromJsonAsync<JsonElement>($"/api/orchestrator/sweeps/{sweepId}"),
            s => s.GetProperty("state").GetString() != "Running", timeout, "the sweep to end");

    [Fact]
    public async Task AGridOfSixTrialsPrunesTheHopelessOnesAndRegistersOnlyTheBest()
    {
        var watch = Stopwatch.StartNew();
        // The hopeless learning rate comes last, so its trials are judged against every trial before them.
        var started = await PostAsync(Sweep("swept", forge.Data, forge.VocabularySize, new Dictionary<string, object>
        {
            ["training.learningRate"] = new[] { 3e-3, 1e-2, 1e-6 },
            ["model.width"] = new[] { 32, 64 },
        }), HttpStatusCode.Accepted);
        var sweepId = started.GetProperty("id").GetString()!;
        Assert.Equal(6, started.GetProperty("trials").GetArrayLength());

        var sweep = await FinishedAsync(Client, sweepId, TimeSpan.FromSeconds(120));
        output.WriteLine($"sweep ended in {watch.Elapsed.TotalSeconds:F1}s: {sweep}");
        Assert.True(sweep.GetProperty("state").GetString() == "Completed", sweep.ToString());
        var trials = sweep.GetProperty("trials").EnumerateArray().ToList();
        Assert.All(trials, t => Assert.Contains(t.GetProperty("state").GetString(), new[] { "Completed", "Pruned" }));
        var pruned = trials.Where(t => t.GetProperty("state").GetString() == "Pruned").ToList();
        Assert.NotEmpty(pruned);
        Assert.Contains(pruned, t => t.GetProperty("steps").GetInt64() < MaxSteps);
        Assert.All(pruned, t => Assert.StartsWith("median rule", t.GetProperty("detail").GetString(), StringComparison.Ordinal));
        // The hopeless learning rate never wins, and is stopped once there is anything to compare it with.
        Assert.All(trials.Where(t => t.GetProperty("settings").GetProperty("training.learningRate").GetDouble() == 1e-6),
            t => Assert.Equal("Pruned", t.GetProperty("state").GetString()));

        var completed = trials.Where(t => t.GetProperty("state").GetString() == "Completed").ToList();
        var best = completed.MinBy(t => t.GetProperty("finalValidationLoss").GetDouble())!;
        Assert.Equal(best.GetProperty("number").GetInt32(), sweep.GetProperty("bestTrial").GetInt32());
        Assert.Equal(best.GetProperty("runId").GetString(), sweep.GetProperty("bestRunId").GetString());
        Assert.All(completed, t => Assert.True(t.GetProperty("steps").GetInt64() == MaxSteps && t.GetProperty("tokensPerSecond").GetDouble() > 0, t.ToString()));

        // Only the best is registered, as a candidate of the sweep's model with the run's lineage.
        var versions = (await Client.GetFromJsonAsync<JsonElement>("/api/orchestrator/models?model=swept")).EnumerateArray().ToList();
        var version = Assert.Single(versions);
        Assert.Equal(sweep.GetProperty("modelVersionId").GetString(), version.GetProperty("id").GetString());
        Assert.Equal(best.GetProperty("runId").GetString(), version.GetProperty("runId").GetString());
        Assert.Equal(forge.Data.TokenizerId, version.GetProperty("tokenizerId").GetString());
        Assert.Equal([forge.Data.DatasetVersion], version.GetProperty("datasetVersions").EnumerateArray().Select(v => v.GetString()));
        var everyVersion = (await Client.GetFromJsonAsync<JsonElement>("/api/orchestrator/models")).EnumerateArray();
        Assert.Single(everyVersion, v => v.GetProperty("runId").GetString()!.StartsWith(sweepId, StringComparison.Ordinal));
        // It asked for automatic promotion: the evaluator measures it and the family's policy decides.
        await Eventually.WaitAsync(() => Client.GetFromJsonAsync<JsonElement>($"/api/orchestrator/models/{version.GetProperty("id").GetString()}"),
            v => v.GetProperty("metrics").TryGetProperty("validation", out _), TimeSpan.FromSeconds(30), "the best trial's version to be evaluated");
        output.WriteLine($"test took {watch.Elapsed.TotalSeconds:F1}s");
    }

    [Fact]
    public async Task RandomSearchWithSuccessiveHalvingDrawsWithinItsRangesRunsOneTrialAtATimeAndStopsTrialsOnlyAtItsRungs()
    {
        var watch = Stopwatch.StartNew();
        var body = Sweep("halved", forge.Data, forge.VocabularySize, new Dictionary<string, object>
        {
            ["training.learningRate"] = new { min = 1e-6, max = 1e-2, log = true },
            ["model.width"] = new[] { 32, 64 },
        }, new { rule = "halving", rungs = new[] { 20, 50 }, eta = 2 });
        body["strategy"] = "random";
        body["trials"] = 6;
        body["seed"] = 11;
        body["maxConcurrent"] = 1;
        var sweepId = (await PostAsync(body, HttpStatusCode.Accepted)).GetProperty("id").GetString()!;

        var sweep = await FinishedAsync(Client, sweepId, TimeSpan.FromSeconds(120));
        output.WriteLine($"sweep ended in {watch.Elapsed.TotalSeconds:F1}s: {sweep}");
        Assert.True(sweep.GetProperty("state").GetString() == "Completed", sweep.ToString());
        var trials = sweep.GetProperty("trials").EnumerateArray().ToList();
        Assert.Equal(6, trials.Count);
        Assert.All(trials, t => Assert.InRange(t.GetProperty("settings").GetProperty("training.learningRate").GetDouble(), 1e-6, 1e-2));
        Assert.All(trials, t => Assert.Contains(t.GetProperty("settings").GetProperty("model.width").GetInt32(), new[] { 32, 64 }));
        // One at a time: each trial started after the one before it had ended.
        Assert.All(trials.Zip(trials.Skip(1)), pair => Assert.True(pair.Second.GetProperty("startedAt").GetDateTime() >= pair.First.GetProperty("finishedAt").GetDateTime(), $"{pair.First}\n{pair.Second}"));
        var pruned = trials.Where(t => t.GetProperty("state").GetString() == "Pruned").ToList();
        Assert.NotEmpty(pruned);
        // A trial is judged only at a rung, and nothing it reports after being judged counts.
        Assert.All(pruned, t => Assert.Contains(t.GetProperty("evaluations").EnumerateArray().Last().GetProperty("step").GetInt64(), new long[] { 20, 50 }));
        Assert.All(pruned, t => Assert.StartsWith("successive halving", t.GetProperty("detail").GetString(), StringComparison.Ordinal));
        var version = Assert.Single((await Client.GetFromJsonAsync<JsonElement>("/api/orchestrator/models?model=halved")).EnumerateArray());
        Assert.Equal(sweep.GetProperty("bestRunId").GetString(), version.GetProperty("runId").GetString());
    }

    [Fact]
    public async Task ATrialTheTrainerRefusesFailsAloneWithTheTrainersReasonAndTheOthersGoOn()
    {
        // Only the trainer knows how many tokens the shards hold: it refuses the first trial, not the sweep.
        var body = Sweep("refused-by-trainer", forge.Data, forge.VocabularySize, new Dictionary<string, object> { ["model.contextLength"] = new[] { 1_000_000, 32 } },
            new { rule = "none" });
        var sweepId = (await PostAsync(body, HttpStatusCode.Accepted)).GetProperty("id").GetString()!;

        var sweep = await FinishedAsync(Client, sweepId, TimeSpan.FromSeconds(60));

        Assert.True(sweep.GetProperty("state").GetString() == "Completed", sweep.ToString());
        var trials = sweep.GetProperty("trials").EnumerateArray().ToList();
        Assert.Equal("Failed", trials[0].GetProperty("state").GetString());
        Assert.StartsWith("model.contextLength", trials[0].GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("Completed", trials[1].GetProperty("state").GetString());
        Assert.Equal(2, sweep.GetProperty("bestTrial").GetInt32());
    }

    [Theory]
    [InlineData("unknown setting", "parameters.model.depth")]
    [InlineData("heads that do not divide the width", "parameters.model.heads")]
    [InlineData("an empty list", "parameters.training.learningRate")]
    [InlineData("nothing to sweep", "parameters")]
    [InlineData("no evaluations", "training.evaluationInterval")]
    [InlineData("a range in a grid", "parameters.training.weightDecay")]
    [InlineData("random search without a trial count", "trials")]
    [InlineData("halving at a step that is not evaluated", "pruning.rungs")]
    [InlineData("no validation shards", "validationShards")]
    public async Task ABadSweepIsRefusedNamingTheFieldAndNothingStarts(string fault, string field)
    {
        var before = (await Client.GetFromJsonAsync<JsonElement>("/api/orchestrator/sweeps")).GetArrayLength();
        var body = Sweep("refused", forge.Data, forge.VocabularySize, new Dictionary<string, object> { ["training.learningRate"] = new[] { 1e-3, 3e-3 } });
        switch (fault)
        {
            case "unknown setting":
                body["parameters"] = new Dictionary<string, object> { ["model.depth"] = new[] { 1, 2 } };
                break;
            case "heads that do not divide the width":
                body["parameters"] = new Dictionary<string, object> { ["model.heads"] = new[] { 2, 5 } };
                break;
            case "an empty list":
                body["parameters"] = new Dictionary<string, object> { ["training.learningRate"] = Array.Empty<double>() };
                break;
            case "nothing to sweep":
                body["parameters"] = new Dictionary<string, object>();
                break;
            case "no evaluations":
                body["training"] = new { maxSteps = 20, decaySteps = 20, warmupSteps = 2, evaluationInterval = 0 };
                break;
            case "a range in a grid":
                body["parameters"] = new Dictionary<string, object> { ["training.weightDecay"] = new { min = 0.0, max = 0.1 } };
                break;
            case "random search without a trial count":
                body["strategy"] = "random";
                break;
            case "halving at a step that is not evaluated":
                body["pruning"] = new { rule = "halving", rungs = new[] { 15 }, eta = 2 };
                break;
            case "no validation shards":
                body.Remove("validationShards");
                break;
        }

        var problem = await PostAsync(body, HttpStatusCode.UnprocessableEntity);
        output.WriteLine(problem.GetProperty("detail").GetString());

        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out var messages), problem.ToString());
        Assert.NotEmpty(messages.EnumerateArray());
        Assert.Equal(before, (await Client.GetFromJsonAsync<JsonElement>("/api/orchestrator/sweeps")).GetArrayLength());
    }
}
