using System.Text.Json;
using Forge.Testing;

namespace Forge.EndToEnd.Tests;

/// <summary>
/// The `forge` command as a user runs it: a real process (dotnet forge.dll) driving a running Forge over HTTP with
/// --url and an API key, checked by its --json output and its exit codes.
/// </summary>
public sealed class CliBuildTests(EmbeddedForge forge) : IClassFixture<EmbeddedForge>, IDisposable
{
    private readonly TemporaryFolder _folder = new("cli");

    private Task<CliResult> ForgeAsync(params string[] arguments) => CliProcess.RunAsync(_folder.Path, null, arguments);

    private string WriteRecipe(string name, string model)
    {
        var corpus = Path.Combine(_folder.Path, "corpus");
        Directory.CreateDirectory(corpus);
        var generator = new CorpusGenerator(3);
        File.WriteAllText(Path.Combine(corpus, "quotes"), string.Join("\n%\n", Enumerable.Range(0, 120).Select(_ => generator.Document(40))));
        var path = Path.Combine(_folder.Path, $"{name}.yaml");
        File.WriteAllText(path, $"""
            name: {name}
            data:
              sources:
                - path: corpus
                  separator: "%"
              cleaning:
                qualityFilters: false
            tokenizer:
              vocabularySize: 300
            model:
            {model}
            training:
              batchSize: 4
              maxSteps: 20
              warmupSteps: 2
              decaySteps: 20
              evaluationInterval: 0
            """);
        return path;
    }

    private const string TinyModel = "  layers: 1\n  heads: 2\n  width: 16\n  contextLength: 16";

    [Fact]
    public async Task ABuildPrintsItsResultAsJsonAndExitsZero()
    {
        var recipe = WriteRecipe("cli-ok", TinyModel);
        var result = await ForgeAsync("build", recipe, "--url", forge.Client.BaseAddress!.ToString(), "--key", forge.AdminKey, "--json");
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Error}\n{result.Output}");
        var build = result.Json.GetProperty("build");
        Assert.Equal("Completed", build.GetProperty("state").GetString());
        Assert.Equal("cli-ok@1", build.GetProperty("modelVersionId").GetString());
        var report = result.Json.GetProperty("report");
        Assert.True(report.GetProperty("cleaning").GetProperty("documentsOut").GetInt64() > 100);
        Assert.Equal(300, report.GetProperty("tokenizer").GetProperty("vocabularySize").GetInt32());
        Assert.Equal(20, report.GetProperty("training").GetProperty("steps").GetInt64());
        Assert.True(report.GetProperty("metrics").GetProperty("validation.perplexity").GetDouble() > 1);
        Assert.NotEmpty(report.GetProperty("samples").EnumerateArray());
    }

    [Fact]
    public async Task ARefusedRecipeExitsTwoNamingFileLineAndField()
    {
        var recipe = WriteRecipe("cli-bad", "  layers: 1\n  heads: 3\n  width: 16\n  contextLength: 16");
        var result = await ForgeAsync("build", recipe, "--url", forge.Client.BaseAddress!.ToString(), "--key", forge.AdminKey, "--json");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("cli-bad.yaml:12:", result.Error, StringComparison.Ordinal);
        Assert.Contains("model.heads", result.Error, StringComparison.Ordinal);
        Assert.Equal(422, result.Json.GetProperty("status").GetInt32());

        var missing = await ForgeAsync("build", Path.Combine(_folder.Path, "nope.yaml"), "--url", forge.Client.BaseAddress!.ToString(), "--json");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("nope.yaml", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFailedBuildExitsOneAndAnUnreachableOrUnauthorisedForgeExitsThree()
    {
        var recipe = WriteRecipe("cli-fails", "  layers: 1\n  heads: 2\n  width: 16\n  contextLength: 100000");
        var failed = await ForgeAsync("build", recipe, "--url", forge.Client.BaseAddress!.ToString(), "--key", forge.AdminKey, "--json");
        Assert.True(failed.ExitCode == 1, $"exit {failed.ExitCode}: {failed.Error}\n{failed.Output}");
        Assert.Equal("Failed", failed.Json.GetProperty("build").GetProperty("state").GetString());
        Assert.StartsWith("pretrain:", failed.Json.GetProperty("build").GetProperty("failure").GetString(), StringComparison.Ordinal);

        var unreachable = await ForgeAsync("build", recipe, "--url", $"http://127.0.0.1:{TestServers.FreePort()}", "--json");
        Assert.Equal(3, unreachable.ExitCode);
        var unauthorised = await ForgeAsync("build", recipe, "--url", forge.Client.BaseAddress!.ToString(), "--key", "fk_nope_nope", "--json");
        Assert.Equal(3, unauthorised.ExitCode);
        Assert.Contains("401", unauthorised.Error, StringComparison.Ordinal);
    }

    public void Dispose() => _folder.Dispose();
}
