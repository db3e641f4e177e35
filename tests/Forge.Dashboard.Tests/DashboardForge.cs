using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Forge.Cli;
using Forge.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Playwright;

namespace Forge.Dashboard.Tests;

/// <summary>
/// The embedded host (what `forge up` runs) on a free loopback port, with one tiny model trained through the real
/// pipeline and promoted as <see cref="Model"/>, and a headless Chromium to drive the dashboard with.
/// </summary>
public sealed class DashboardForge : IAsyncLifetime
{
    public const string Model = "served";
    public const string Chromium = "/usr/bin/chromium";
    public const string NoChromium = "Debian's chromium is not installed at /usr/bin/chromium (apt-get install -y chromium; infra/chromium.sh does it)";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    private readonly TemporaryFolder _data = new("dashboard");
    private LoopbackApp? _host;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public HttpClient Client => _host!.Client;
    public string AdminKey { get; private set; } = "";
    public string BaseUrl => Client.BaseAddress!.ToString().TrimEnd('/');
    public PreparedData Data { get; private set; } = null!;

    /// <summary>Whether the browser tests can run; under FORGE_REQUIRE_SERVERS=1 (CI, which installs it) a missing Chromium fails them instead.</summary>
    public static bool HasChromium => File.Exists(Chromium)
        || (TestServers.Required ? throw new InvalidOperationException($"{NoChromium} (FORGE_REQUIRE_SERVERS=1, so this fails instead of skipping)") : false);

    public async Task InitializeAsync()
    {
        if (!HasChromium)
            return;
        var app = EmbeddedHost.Build([], new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Forge:DataPath"] = _data.Path,
            // A cancelled run stops at the trainer's next heartbeat: keep that short so the next test's run starts soon.
            ["Trainer:HeartbeatInterval"] = "00:00:01",
            ["Trainer:SweepInterval"] = "00:00:01",
        });
        _host = await LoopbackApp.StartAsync(app);
        AdminKey = EmbeddedHost.AdminKey(app) ?? throw new InvalidOperationException("The embedded host wrote no admin key.");
        Client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);

        var browser = LaunchAsync();
        Data = await PrepareDataAsync();
        await TrainPromotedAsync();
        _browser = await browser;
    }

    private async Task<IBrowser> LaunchAsync()
    {
        _playwright = await Playwright.CreateAsync();
        // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        return await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
    }

    /// <summary>A fresh browser context; with <paramref name="withKey"/> the dashboard already holds the admin key.</summary>
    public async Task<IBrowserContext> NewContextAsync(bool withKey = true)
    {
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions { BaseURL = BaseUrl });
        if (withKey)
            await context.AddInitScriptAsync($"localStorage.setItem('forge.apiKey', {JsonSerializer.Serialize(AdminKey)});");
        return context;
    }

    /// <summary>Generated text, cleaned and sealed, a BPE tokenizer with the chat role tokens, and its token shards.</summary>
    private async Task<PreparedData> PrepareDataAsync()
    {
        const string datasetId = "dashboard-text";
        using (var created = await Client.PostAsJsonAsync("/api/ingestion/datasets", new { id = datasetId, description = "dashboard tests" }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using (var settings = await Client.PutAsJsonAsync($"/api/cleaning/datasets/{datasetId}/settings", new { qualityFilters = false }))
            Assert.Equal(HttpStatusCode.OK, settings.StatusCode);
        var random = new Random(5);
        string[] words = ["the", "model", "learns", "from", "data", "and", "every", "token", "counts", "a", "quiet", "river", "runs", "past", "old", "stone", "walls", "while", "bright", "lamps", "glow", "in", "small", "towns", "at", "night"];
        var body = new StringBuilder();
        for (var document = 0; document < 300; document++)
        {
            var text = string.Join(' ', Enumerable.Range(0, 80).Select(_ => words[random.Next(words.Length)]));
            body.Append(JsonSerializer.Serialize(new { text, id = $"d{document}" })).Append('\n');
        }
        using (var posted = await Client.PostAsync($"/api/ingestion/datasets/{datasetId}/stream", new StringContent(body.ToString(), Encoding.UTF8, "application/x-ndjson")))
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        await Eventually.WaitAsync(() => Client.GetFromJsonAsync<JsonElement>($"/api/ingestion/datasets/{datasetId}"),
            d => d.GetProperty("totals").GetProperty("cleanedBatches").GetInt32() == 1, Deadline, "cleaning");
        using var sealedVersion = await Client.PostAsJsonAsync($"/api/cleaning/datasets/{datasetId}/versions", new { validationFraction = 0.1 });
        var version = (await sealedVersion.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        const string tokenizerId = "bpe-dashboard";
        // The tokenizer service learns of the version from DatasetVersionSealed: retry until it knows it.
        await Eventually.WaitAsync(async () =>
            {
                using var train = await Client.PostAsJsonAsync("/api/tokenizer/tokenizers", new { id = tokenizerId, datasetVersion = version, kind = "bpe", vocabularySize = 300, minFrequency = 2 });
                return train.StatusCode;
            },
            status => status is HttpStatusCode.Accepted or HttpStatusCode.Conflict, TimeSpan.FromSeconds(20), "the tokenizer service to know the version");
        await WaitFinishedAsync($"/api/tokenizer/tokenizers/{tokenizerId}", "the tokenizer to be trained");
        using (var tokenize = await Client.PostAsJsonAsync("/api/tokenizer/tokenizations", new { tokenizerId, datasetVersion = version }))
            Assert.Equal(HttpStatusCode.Accepted, tokenize.StatusCode);
        var tokenization = await WaitFinishedAsync($"/api/tokenizer/tokenizations/{version}/{tokenizerId}", "the version to be tokenized");
        return new PreparedData(version,
            [.. tokenization.GetProperty("trainShards").EnumerateArray().Select(s => s.GetString()!)],
            [.. tokenization.GetProperty("validationShards").EnumerateArray().Select(s => s.GetString()!)]);
    }

    private async Task TrainPromotedAsync()
    {
        var runId = await SubmitRunAsync(Model, steps: 40, logInterval: 10);
        var run = await WaitFinishedAsync($"/api/trainer/runs/{runId}", "the run to finish");
        Assert.Equal("Completed", run.GetProperty("state").GetString());
        // The inference service learns of the promotion from ModelPromoted.
        await Eventually.WaitAsync(() => Client.GetFromJsonAsync<JsonElement>("/api/inference/models"),
            m => m.GetProperty("models").EnumerateArray().Any(x => x.GetProperty("model").GetString() == Model && x.GetProperty("promoted").GetString() is not null),
            Deadline, "the inference service to serve the promoted version");
    }

    /// <summary>Submits a tiny GPT run on the prepared data; returns its id.</summary>
    public async Task<string> SubmitRunAsync(string name, int steps, int logInterval, int evaluationInterval = 0)
    {
        using var submitted = await Client.PostAsJsonAsync("/api/trainer/runs", new
        {
            name,
            model = new { architecture = "gpt", layers = 2, heads = 2, width = 48, contextLength = 64, dropout = 0.0 },
            training = new { batchSize = 8, maxSteps = steps, warmupSteps = 5, decaySteps = steps, learningRate = 3e-3, minLearningRate = 3e-4, evaluationInterval, logInterval },
            trainShards = Data.TrainShards,
            validationShards = Data.ValidationShards,
            datasetVersion = Data.DatasetVersion,
        });
        var submission = await submitted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(submitted.StatusCode == HttpStatusCode.Accepted, submission.ToString());
        return submission.GetProperty("id").GetString()!;
    }

    public Task<JsonElement> WaitFinishedAsync(string path, string what) =>
        Eventually.WaitAsync(() => Client.GetFromJsonAsync<JsonElement>(path),
            e => e.GetProperty("state").GetString() is "Completed" or "Failed" or "Cancelled", Deadline, what);

    public async Task DisposeAsync()
    {
        if (_browser is not null)
            await _browser.DisposeAsync();
        _playwright?.Dispose();
        if (_host is not null)
            await _host.DisposeAsync();
        _data.Dispose();
    }
}

public sealed record PreparedData(string DatasetVersion, string[] TrainShards, string[] ValidationShards);

[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardForge>
{
    public const string Name = "dashboard";
}
