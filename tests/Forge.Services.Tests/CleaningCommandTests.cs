using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Forge.Cleaning.Domain;
using Forge.Contracts;
using Forge.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Forge.Services.Tests;

/// <summary>A build's CleaningSettingsRequested and SealDatasetRequested: the settings endpoint's rules, and one version per build.</summary>
public sealed class CleaningCommandTests(BuildServicesHost services) : IClassFixture<BuildServicesHost>, IDisposable
{
    private readonly TemporaryFolder _files = new("build-cleaning");

    public void Dispose() => _files.Dispose();

    private CleaningStore Store => services.Services.GetRequiredService<CleaningStore>();

    [Fact]
    public async Task SettingsAreStoredAsTheSettingsEndpointStoresThemAndARepeatRepliesAgain()
    {
        var command = new CleaningSettingsRequested("b-settings", "settings", """{"minWords": 3, "redactPii": false}""");

        await services.SendAsync(command);
        await services.WaitForAsync<CleaningSettingsApplied>(a => a.BuildId == "b-settings" && a.DatasetId == "settings");
        await services.SendAsync(command);
        await services.WaitForAsync<CleaningSettingsApplied>(a => a.BuildId == "b-settings", count: 2);

        var stored = await services.Client.GetFromJsonAsync<JsonElement>("/api/cleaning/datasets/settings/settings");
        Assert.Equal(3, stored.GetProperty("minWords").GetInt32());
        Assert.False(stored.GetProperty("redactPii").GetBoolean());
        Assert.True(stored.GetProperty("nearDedup").GetBoolean());
    }

    [Theory]
    [InlineData("b-invalid-range", """{"minWords": 10, "maxWords": 5}""", "maxWords")]
    [InlineData("b-invalid-field", """{"minWordz": 10}""", "minWordz")]
    [InlineData("b-invalid-type", """{"nearDedup": "yes"}""", "nearDedup")]
    public async Task InvalidSettingsFailTheCleanStageNamingTheField(string buildId, string settings, string field)
    {
        await services.SendAsync(new CleaningSettingsRequested(buildId, "invalid", settings));

        var failure = (await services.WaitForAsync<BuildStageFailed>(f => f.BuildId == buildId))[0];
        Assert.Equal("clean", failure.Stage);
        Assert.Contains(field, failure.Reason, StringComparison.Ordinal);
        Assert.Null(await Store.Settings.GetAsync("invalid"));
        Assert.DoesNotContain(services.Events.Of<CleaningSettingsApplied>(), a => a.BuildId == buildId);
    }

    [Fact]
    public async Task TheSettingsEndpointRefusesWhatTheCommandRefuses()
    {
        var response = await services.Client.PutAsJsonAsync("/api/cleaning/datasets/refused/settings", new { minWords = 10, maxWords = 5 });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("maxWords", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASealSentWhileCleaningRunsAnnouncesTheVersionOnceCleanedAndARepeatAnnouncesTheSameOne()
    {
        var files = await services.IngestCorpusAsync("b-seal", "seal", _files.Path);
        var command = new SealDatasetRequested("b-seal", "seal", files.BatchIds, 0.2);

        await services.SendAsync(command);
        var first = (await services.WaitForAsync<DatasetVersionSealed>(v => v.DatasetId == "seal"))[0];
        await services.SendAsync(command);
        var second = (await services.WaitForAsync<DatasetVersionSealed>(v => v.DatasetId == "seal", count: 2))[1];

        Assert.Equal("seal@1", first.VersionId);
        Assert.Equal(first with { SealedAt = second.SealedAt }, second);
        Assert.Equal(first.SealedAt, second.SealedAt, TimeSpan.FromMilliseconds(1));
        Assert.Equal(5, first.Documents);
        var version = Assert.Single(await Store.Versions.FindAsync(v => v.DatasetId == "seal"));
        Assert.Equal("b-seal", version.BuildId);
        Assert.Equal(files.BatchIds.Count, await Store.Shards.CountAsync(s => s.DatasetId == "seal"));
    }

    [Fact]
    public async Task ASealWaitingForABatchThatIsNeverCleanedFailsTheCleanStageOnceTheWaitIsOver()
    {
        var files = await services.IngestCorpusAsync("b-never", "never", _files.Path);
        var watch = Stopwatch.StartNew();

        await services.SendAsync(new SealDatasetRequested("b-never", "never", [.. files.BatchIds, "never-cleaned"], 0.2));

        var failure = (await services.WaitForAsync<BuildStageFailed>(f => f.BuildId == "b-never"))[0];
        Assert.Equal("clean", failure.Stage);
        Assert.Contains("never-cleaned", failure.Reason, StringComparison.Ordinal);
        Assert.True(watch.Elapsed >= BuildServicesHost.Wait * 0.9, $"gave up after {watch.Elapsed}");
        Assert.Equal(0, await Store.Versions.CountAsync(v => v.DatasetId == "never"));
    }

    [Fact]
    public async Task AnInvalidValidationFractionFailsTheSealStage()
    {
        await services.SendAsync(new SealDatasetRequested("b-fraction", "fraction", [], 1.5));

        var failure = (await services.WaitForAsync<BuildStageFailed>(f => f.BuildId == "b-fraction"))[0];
        Assert.Equal("seal", failure.Stage);
        Assert.Contains("validationFraction", failure.Reason, StringComparison.Ordinal);
    }
}
