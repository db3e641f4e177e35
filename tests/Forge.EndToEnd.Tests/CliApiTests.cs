using System.Text.Json;
using Forge.Testing;

namespace Forge.EndToEnd.Tests;

/// <summary>The `forge` commands that drive a running Forge (keys, models, runs, datasets, ingest, generate, chat, feedback), as real processes, by --json output and exit codes.</summary>
public sealed class CliApiTests(ServingForge forge) : IClassFixture<ServingForge>, IDisposable
{
    private readonly TemporaryFolder _folder = new("cli-api");

    private Task<CliResult> ForgeAsync(string? input, params string[] arguments) =>
        CliProcess.RunAsync(_folder.Path, input, [.. arguments, "--url", forge.Client.BaseAddress!.ToString(), "--key", forge.AdminKey]);

    private static void Ok(CliResult result) => Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Error}\n{result.Output}");

    [Fact]
    public async Task KeysAreCreatedListedAndRevoked()
    {
        var created = await ForgeAsync(null, "keys", "create", "cli-reader", "--scope", "read", "--json");
        Ok(created);
        var key = created.Json.GetProperty("key").GetString()!;
        var id = created.Json.GetProperty("id").GetString()!;
        var listed = await ForgeAsync(null, "keys", "list", "--json");
        Ok(listed);
        Assert.Contains(listed.Json.EnumerateArray(), k => k.GetProperty("id").GetString() == id);

        // The new key reads but may not train: 403 is a refusal (exit 1); a revoked key is refused at the door (exit 3).
        var reading = await CliProcess.RunAsync(_folder.Path, null, "models", "list", "--json", "--url", forge.Client.BaseAddress!.ToString(), "--key", key);
        Ok(reading);
        var promoting = await CliProcess.RunAsync(_folder.Path, null, "models", "promote", forge.VersionId, "--url", forge.Client.BaseAddress!.ToString(), "--key", key);
        Assert.Equal(1, promoting.ExitCode);
        Assert.Contains("403", promoting.Error, StringComparison.Ordinal);
        Ok(await ForgeAsync(null, "keys", "revoke", id));
        var revoked = await CliProcess.RunAsync(_folder.Path, null, "models", "list", "--url", forge.Client.BaseAddress!.ToString(), "--key", key);
        Assert.Equal(3, revoked.ExitCode);
        Assert.Equal(1, (await ForgeAsync(null, "keys", "revoke", id)).ExitCode);
        Assert.Equal(1, (await ForgeAsync(null, "keys", "create", "bad", "--scope", "root")).ExitCode);
    }

    [Fact]
    public async Task GenerateAndChatStreamTheModelsAnswer()
    {
        var generated = await ForgeAsync(null, "generate", "the river", "--max-tokens", "12", "--seed", "3", "--json");
        Ok(generated);
        Assert.Equal(forge.VersionId, generated.Json.GetProperty("modelVersionId").GetString());
        var text = generated.Json.GetProperty("output").GetString()!;

        var plain = await ForgeAsync(null, "generate", "the river", "--max-tokens", "12", "--seed", "3");
        Ok(plain);
        Assert.Equal("the river" + text, plain.Output.TrimEnd('\n'));

        var chat = await ForgeAsync("the river and the\nthe town\n\n", "chat", "--max-tokens", "8");
        Ok(chat);
        Assert.True(chat.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length >= 1);

        var unknown = await ForgeAsync(null, "generate", "x", "--model", "nope");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("404", unknown.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelsRunsDatasetsIngestAndFeedbackAnswerAsJson()
    {
        var models = await ForgeAsync(null, "models", "list", "--model", ServingForge.Model, "--json");
        Ok(models);
        Assert.Contains(models.Json.EnumerateArray(), m => m.GetProperty("id").GetString() == forge.VersionId && m.GetProperty("state").GetString() == "Promoted");
        var runs = await ForgeAsync(null, "runs", "list", "--json");
        Ok(runs);
        var runId = runs.Json.EnumerateArray().First(r => r.GetProperty("name").GetString() == ServingForge.Model).GetProperty("id").GetString()!;
        var watched = await ForgeAsync(null, "runs", "watch", runId, "--json");
        Ok(watched);
        Assert.Equal("Completed", watched.Json.GetProperty("state").GetString());
        Assert.Equal(1, (await ForgeAsync(null, "runs", "cancel", runId)).ExitCode); // it has ended: 409

        var file = Path.Combine(_folder.Path, "notes.txt");
        await File.WriteAllTextAsync(file, "The first note of the command line test. It has a few sentences in it.");
        var uploaded = await ForgeAsync(null, "ingest", "cli-notes", file, "--json");
        Ok(uploaded);
        var streamed = await ForgeAsync("{\"text\": \"streamed from stdin\"}\n{\"text\": \"a second line\"}\n", "ingest", "cli-notes", "-", "--json");
        Ok(streamed);
        var dataset = await ForgeAsync(null, "datasets", "show", "cli-notes", "--json");
        Ok(dataset);
        Assert.Equal(3, dataset.Json.GetProperty("totals").GetProperty("documents").GetInt32());
        Assert.Equal(1, (await ForgeAsync(null, "datasets", "show", "nope-nope")).ExitCode);

        var feedback = await ForgeAsync(null, "feedback", "list", "--json");
        Ok(feedback);
        Assert.Equal(JsonValueKind.Array, feedback.Json.ValueKind);
    }

    public void Dispose() => _folder.Dispose();
}
