using System.Net.Http.Json;
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

    [Fact]
    public async Task ARecipeOfANameAndAPlainTextFileBuildsWithTheDefaults()
    {
        // One text file, as a user's first try would be: a book's worth of paragraphs, no separators, no settings.
        var generator = new CorpusGenerator(11);
        File.WriteAllText(Path.Combine(_folder.Path, "book.txt"), string.Join("\n\n", Enumerable.Range(0, 3000).Select(_ => generator.Document(50))));
        var recipe = Path.Combine(_folder.Path, "book.yaml");
        File.WriteAllText(recipe, "name: book\ndata: book.txt\n");

        var result = await CliProcess.RunAsync(_folder.Path, null, TimeSpan.FromMinutes(8), "build", recipe, "--url", forge.Client.BaseAddress!.ToString(), "--key", forge.AdminKey, "--json");

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Error}\n{result.Output}");
        var report = result.Json.GetProperty("report");
        // The file became many documents, so both sides of the split have some.
        Assert.True(report.GetProperty("cleaning").GetProperty("documentsOut").GetInt64() > 50, report.GetProperty("cleaning").ToString());
        Assert.Equal(1000, report.GetProperty("training").GetProperty("steps").GetInt64());
        Assert.True(report.GetProperty("metrics").GetProperty("validation.perplexity").GetDouble() > 1);
    }

    [Fact]
    public async Task AnEmbeddedBuildStopsOnSigtermAndATakenAddressIsAClearError()
    {
        var recipe = WriteRecipe("cli-stopped", TinyModel).Replace(".yaml", "-long.yaml", StringComparison.Ordinal);
        File.WriteAllText(recipe, File.ReadAllText(recipe.Replace("-long.yaml", ".yaml", StringComparison.Ordinal))
            .Replace("maxSteps: 20", "maxSteps: 1000000", StringComparison.Ordinal).Replace("decaySteps: 20", "decaySteps: 1000000", StringComparison.Ordinal));
        var port = TestServers.FreePort();
        var data = Path.Combine(_folder.Path, "embedded");
        string[] arguments = ["build", recipe, "--urls", $"http://127.0.0.1:{port}", "--data", data, "--json"];
        using var build = CliProcess.Start(_folder.Path, arguments);
        var output = build.StandardOutput.ReadToEndAsync();
        var error = build.StandardError.ReadToEndAsync();
        build.StandardInput.Close();
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        await Eventually.WaitAsync(async () =>
        {
            try
            {
                client.DefaultRequestHeaders.Authorization ??= File.Exists(Path.Combine(data, "admin.key"))
                    ? new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", File.ReadAllText(Path.Combine(data, "admin.key")).Trim())
                    : null;
                return (await client.GetFromJsonAsync<JsonElement>("api/trainer/runs")).EnumerateArray().Any(r => r.GetProperty("state").GetString() == "Running");
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, running => running, TimeSpan.FromMinutes(2), "the embedded build's run to be training");

        // A second Forge on the same address is refused with a message, not a stack trace.
        var taken = await CliProcess.RunAsync(_folder.Path, null, "up", "--urls", $"http://127.0.0.1:{port}", "--data", Path.Combine(_folder.Path, "other"));
        Assert.Equal(3, taken.ExitCode);
        Assert.Contains("cannot listen", taken.Error, StringComparison.Ordinal);

        CliProcess.Terminate(build);
        var stopped = await CliProcess.FinishAsync(build, output, error, TimeSpan.FromMinutes(1), arguments);
        Assert.True(stopped.ExitCode == 130, $"exit {stopped.ExitCode}: {stopped.Error}");
        Assert.Contains("stopped", stopped.Error, StringComparison.Ordinal);
        // The embedded Forge's logs (its first start announces the admin key) go to standard error: with --json,
        // standard output is the JSON alone.
        Assert.Contains("admin API key", stopped.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("admin API key", stopped.Output, StringComparison.Ordinal);
    }

    public void Dispose() => _folder.Dispose();
}
