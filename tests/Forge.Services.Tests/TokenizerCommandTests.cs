using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Forge.Contracts;
using Forge.Testing;
using Forge.Tokenizer.Domain;
using Microsoft.Extensions.DependencyInjection;

namespace Forge.Services.Tests;

/// <summary>A build's TrainTokenizerRequested and TokenizeDatasetRequested: the API's jobs, run once, announced on every ask.</summary>
public sealed class TokenizerCommandTests(BuildServicesHost services) : IClassFixture<BuildServicesHost>, IDisposable
{
    private static readonly TimeSpan Training = TimeSpan.FromSeconds(120);
    private readonly TemporaryFolder _files = new("build-tokenizer");

    public void Dispose() => _files.Dispose();

    private TokenizerStore Store => services.Services.GetRequiredService<TokenizerStore>();

    private static TrainTokenizerRequested Train(string buildId, string tokenizerId, string datasetVersion, int vocabularySize = 300) =>
        new(buildId, tokenizerId, datasetVersion, "bpe", vocabularySize, 1, ["<|endoftext|>"]);

    private async Task<DatasetVersionSealed> SealedVersionAsync(string buildId, string datasetId)
    {
        var files = await services.IngestCorpusAsync(buildId, datasetId, _files.Path);
        return await services.SealAsync(files);
    }

    [Fact]
    public async Task TrainingAndEncodingByCommandAnnounceTheirResultsAndRepeatsAnnounceThemAgainWithoutRedoingThem()
    {
        var version = await SealedVersionAsync("b-tok", "tok");
        var train = Train("b-tok", "tok-tokenizer", version.VersionId);

        await services.SendAsync(train);
        var trained = (await services.WaitForAsync<TokenizerTrained>(t => t.TokenizerId == "tok-tokenizer", timeout: Training))[0];
        var tokenizer = (await Store.Tokenizers.GetAsync("tok-tokenizer"))!;
        await services.SendAsync(train);
        var announcedAgain = (await services.WaitForAsync<TokenizerTrained>(t => t.TokenizerId == "tok-tokenizer", count: 2))[1];

        Assert.Equal(version.VersionId, trained.DatasetVersion);
        Assert.Equal(trained, announcedAgain);
        Assert.Equal(JobState.Completed, tokenizer.State);
        Assert.Equal("b-tok", tokenizer.BuildId);
        Assert.Equal(tokenizer.FinishedAt, (await Store.Tokenizers.GetAsync("tok-tokenizer"))!.FinishedAt);

        var tokenize = new TokenizeDatasetRequested("b-tok", "tok-tokenizer", version.VersionId);
        await services.SendAsync(tokenize);
        var tokenized = (await services.WaitForAsync<DatasetTokenized>(t => t.TokenizerId == "tok-tokenizer", timeout: Training))[0];
        var tokenization = (await Store.Tokenizations.GetAsync($"{version.VersionId}/tok-tokenizer"))!;
        await services.SendAsync(tokenize);
        var tokenizedAgain = (await services.WaitForAsync<DatasetTokenized>(t => t.TokenizerId == "tok-tokenizer", count: 2))[1];

        Assert.True(tokenized.TrainTokens > 0);
        Assert.Equal(tokenized.TrainShards, tokenizedAgain.TrainShards);
        Assert.Equal(tokenized.ValidationShards, tokenizedAgain.ValidationShards);
        Assert.Equal((tokenized.TrainTokens, tokenized.ValidationTokens, tokenized.CharactersPerToken), (tokenizedAgain.TrainTokens, tokenizedAgain.ValidationTokens, tokenizedAgain.CharactersPerToken));
        Assert.Equal(tokenization.FinishedAt, (await Store.Tokenizations.GetAsync(tokenization.Id))!.FinishedAt);
        Assert.DoesNotContain(services.Events.Of<BuildStageFailed>(), f => f.BuildId == "b-tok");
    }

    [Fact]
    public async Task TheSameTokenizerIdWithAnotherSpecFailsTheTokenizerStage()
    {
        var version = await SealedVersionAsync("b-respec", "respec");
        await services.SendAsync(Train("b-respec", "respec-tokenizer", version.VersionId));
        await services.WaitForAsync<TokenizerTrained>(t => t.TokenizerId == "respec-tokenizer", timeout: Training);

        await services.SendAsync(Train("b-respec", "respec-tokenizer", version.VersionId, vocabularySize: 400));

        var failure = (await services.WaitForAsync<BuildStageFailed>(f => f.BuildId == "b-respec"))[0];
        Assert.Equal("tokenizer", failure.Stage);
        Assert.Contains("another spec", failure.Reason, StringComparison.Ordinal);
        Assert.Single(services.Events.Of<TokenizerTrained>(), t => t.TokenizerId == "respec-tokenizer");
    }

    [Fact]
    public async Task ATrainCommandArrivingBeforeItsVersionIsKnownWaitsForIt()
    {
        var files = await services.IngestCorpusAsync("b-early", "early", _files.Path);
        await services.WaitForCleaningAsync(files);

        await services.SendAsync(Train("b-early", "early-tokenizer", "early@1"));
        await services.SendAsync(new SealDatasetRequested("b-early", "early", files.BatchIds, 0.2));

        var trained = (await services.WaitForAsync<TokenizerTrained>(t => t.TokenizerId == "early-tokenizer", timeout: Training))[0];
        Assert.Equal("early@1", trained.DatasetVersion);
        Assert.DoesNotContain(services.Events.Of<BuildStageFailed>(), f => f.BuildId == "b-early");
    }

    [Fact]
    public async Task AnUnknownVersionFailsTheTokenizerStageOnceTheWaitIsOver()
    {
        var watch = Stopwatch.StartNew();

        await services.SendAsync(Train("b-unknown", "unknown-tokenizer", "nowhere@1"));

        var failure = (await services.WaitForAsync<BuildStageFailed>(f => f.BuildId == "b-unknown"))[0];
        Assert.Equal("tokenizer", failure.Stage);
        Assert.Contains("nowhere@1", failure.Reason, StringComparison.Ordinal);
        Assert.True(watch.Elapsed >= BuildServicesHost.Wait * 0.9, $"gave up after {watch.Elapsed}");
        Assert.Null(await Store.Tokenizers.GetAsync("unknown-tokenizer"));
    }

    [Fact]
    public async Task AFailedTrainingJobFailsTheBuildsTokenizerStageAndARetriedBuildRunsItAgain()
    {
        // A version whose manifest is gone: the job starts, then fails reading it.
        await services.SendAsync(new DatasetVersionSealed("ghost", "ghost@1", 1, "datasets/ghost/versions/1/gone.json", 1, 10, 0.1, DateTime.UtcNow));
        await Eventually.WaitAsync(() => Store.DatasetVersions.GetAsync("ghost@1"), known => known is not null, TimeSpan.FromSeconds(30), "ghost@1 recorded");

        await services.SendAsync(Train("b-ghost", "ghost-tokenizer", "ghost@1"));

        var failure = (await services.WaitForAsync<BuildStageFailed>(f => f.BuildId == "b-ghost", timeout: Training))[0];
        Assert.Equal("tokenizer", failure.Stage);
        var tokenizer = (await Store.Tokenizers.GetAsync("ghost-tokenizer"))!;
        Assert.Equal(JobState.Failed, tokenizer.State);
        Assert.Equal(tokenizer.Failure, failure.Reason);

        await services.SendAsync(Train("b-ghost", "ghost-tokenizer", "ghost@1"));

        await services.WaitForAsync<BuildStageFailed>(f => f.BuildId == "b-ghost", count: 2, timeout: Training);
        Assert.True((await Store.Tokenizers.GetAsync("ghost-tokenizer"))!.FinishedAt > tokenizer.FinishedAt);
    }

    [Fact]
    public async Task TheEndpointsRefuseAsTheCommandsDo()
    {
        var unknownVersion = await services.Client.PostAsJsonAsync("/api/tokenizer/tokenizers", new { datasetVersion = "nowhere@1" });
        var tooSmall = await services.Client.PostAsJsonAsync("/api/tokenizer/tokenizers", new { datasetVersion = "nowhere@1", vocabularySize = 10 });
        var badId = await services.Client.PostAsJsonAsync("/api/tokenizer/tokenizers", new { id = "Bad Id", datasetVersion = "nowhere@1" });
        var unknownTokenizer = await services.Client.PostAsJsonAsync("/api/tokenizer/tokenizations", new { tokenizerId = "nobody", datasetVersion = "nowhere@1" });

        Assert.Equal(HttpStatusCode.NotFound, unknownVersion.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, tooSmall.StatusCode);
        Assert.Contains("vocabularySize", await tooSmall.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, badId.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknownTokenizer.StatusCode);
    }
}
