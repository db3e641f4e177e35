using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace Forge.Cli;

/// <summary>
/// <c>forge build recipe.yaml</c>: runs a recipe as a build, with a progress bar per stage, prints a report (data kept
/// and dropped, tokenizer, loss curve, evaluation, sample generations) and, in the embedded mode, leaves the system up
/// for chat and feedback. With <c>--url</c> it drives a running Forge (the gateway) instead of starting one.
/// Exit codes: 0 built and promoted, 1 the build failed or was cancelled, 2 the recipe was refused, 3 Forge could not be
/// reached (or the embedded one could not start), 130 stopped by Ctrl+C or SIGTERM.
/// </summary>
public static class BuildCommand
{
    private static readonly JsonSerializerOptions PrintedJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static Command Create()
    {
        var recipe = new Argument<FileInfo>("recipe") { Description = "The recipe (YAML)" };
        var url = new Option<string?>("--url") { Description = "A running Forge (its gateway), instead of starting the embedded one" };
        var urls = new Option<string>("--urls") { Description = "Where the embedded Forge listens", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var data = new Option<string>("--data") { Description = "Folder for the embedded stores and artifacts", DefaultValueFactory = _ => ".forge" };
        var corpus = new Option<string?>("--corpus") { Description = "Train on this file or folder instead of the recipe's data sources" };
        var json = new Option<bool>("--json") { Description = "Print the finished build and its report as JSON (no progress bars)" };
        var exit = new Option<bool>("--exit") { Description = "Stop the embedded Forge when the build ends instead of leaving it up for chat" };
        var apiKey = new Option<string?>("--key") { Description = "API key for --url (default: FORGE_API_KEY, else the admin key in --data)" };
        var command = new Command("build", "Runs a recipe end to end: ingest, clean, seal, tokenizer, tokenize, pretrain, register, evaluate, promote, serve")
        {
            recipe, url, urls, data, corpus, json, exit, apiKey,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var file = parse.GetValue(recipe)!;
            if (!file.Exists)
            {
                await Console.Error.WriteLineAsync($"forge build: there is no recipe file '{file.FullName}'.");
                return 2;
            }
            var asJson = parse.GetValue(json);
            WebApplication? embedded = null;
            CancellationTokenSource? stopping = null;
            try
            {
                var baseUrl = parse.GetValue(url);
                if (baseUrl is null)
                {
                    var dataPath = Path.GetFullPath(parse.GetValue(data)!);
                    embedded = EmbeddedHost.Build([], new Dictionary<string, string?>
                    {
                        ["Urls"] = parse.GetValue(urls),
                        ["Forge:DataPath"] = dataPath,
                        ["Serilog:MinimumLevel:Default"] = "Warning",
                    });
                    if (await EmbeddedHost.TryStartAsync(embedded, "forge build", cancellationToken) is { } refused)
                        return refused;
                    baseUrl = embedded.Urls.First();
                    // Ctrl+C or SIGTERM reaches the embedded host's console lifetime, which only asks the host to stop:
                    // follow that request here too, so the build's polling ends and the process exits.
                    stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, embedded.Lifetime.ApplicationStopping);
                    cancellationToken = stopping.Token;
                    if (!asJson)
                        AnsiConsole.MarkupLine($"[grey]Forge is up at {Markup.Escape(baseUrl)} (embedded; data in {Markup.Escape(dataPath)})[/]");
                }
                using var client = new HttpClient { BaseAddress = new Uri(baseUrl.TrimEnd('/') + "/"), Timeout = TimeSpan.FromMinutes(5) };
                var key = embedded is not null ? EmbeddedHost.AdminKey(embedded) : parse.GetValue(apiKey) ?? ApiKeyResolver.FromEnvironment(parse.GetValue(data)!);
                if (key is not null)
                    client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
                if (embedded is not null && !asJson)
                    AnsiConsole.MarkupLine($"[grey]Admin API key in {Markup.Escape(Path.Combine(Path.GetFullPath(parse.GetValue(data)!), "admin.key"))}[/]");
                var code = await RunAsync(client, file, parse.GetValue(corpus), asJson, cancellationToken);
                if (embedded is not null && code == 0 && !parse.GetValue(exit) && !asJson)
                {
                    AnsiConsole.MarkupLine($"[green]The model is served.[/] Chat with it: POST {Markup.Escape(baseUrl)}/v1/chat/completions (OpenAI-compatible) or {Markup.Escape(baseUrl)}/api/inference/chat; rate answers at /api/feedback/generations/{{id}}. Ctrl+C stops Forge.");
                    await embedded.WaitForShutdownAsync(cancellationToken);
                }
                return code;
            }
            catch (HttpRequestException e) when (!cancellationToken.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync($"forge build: cannot reach Forge: {e.Message}");
                return 3;
            }
            catch (Exception e) when (cancellationToken.IsCancellationRequested && e is OperationCanceledException or HttpRequestException)
            {
                await Console.Error.WriteLineAsync(embedded is null
                    ? "forge build: stopped following the build; it goes on in the Forge at --url (forge runs cancel, or the dashboard, stops it)."
                    : "forge build: stopped; the embedded Forge is shut down and the build stays where it was (its runs resume when Forge starts again on the same --data).");
                return 130;
            }
            finally
            {
                if (embedded is not null)
                {
                    using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                    await embedded.StopAsync(patience.Token);
                    await embedded.DisposeAsync();
                }
                stopping?.Dispose();
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(HttpClient client, FileInfo file, string? corpus, bool asJson, CancellationToken cancellationToken)
    {
        var yaml = await File.ReadAllTextAsync(file.FullName, cancellationToken);
        using var submitted = await client.PostAsJsonAsync("api/orchestrator/builds", new
        {
            recipe = yaml,
            baseFolder = file.DirectoryName,
            corpus = corpus is null ? null : Path.GetFullPath(corpus),
        }, cancellationToken);
        var answer = await submitted.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        if (submitted.StatusCode is HttpStatusCode.UnprocessableEntity or HttpStatusCode.BadRequest)
        {
            if (asJson)
                Console.WriteLine(JsonSerializer.Serialize(answer, PrintedJson));
            await Console.Error.WriteLineAsync($"forge build: the recipe {file.Name} was refused:");
            if (answer.TryGetProperty("recipeErrors", out var errors))
            {
                foreach (var error in errors.EnumerateArray())
                    await Console.Error.WriteLineAsync($"  {file.Name}:{error.GetProperty("line").GetInt32()}:{error.GetProperty("column").GetInt32()}: {error.GetProperty("field").GetString()}: {error.GetProperty("message").GetString()}");
            }
            else
                await Console.Error.WriteLineAsync("  " + (answer.TryGetProperty("detail", out var detail) ? detail.GetString() : answer.ToString()));
            return 2;
        }
        if (submitted.StatusCode != HttpStatusCode.Accepted)
        {
            await Console.Error.WriteLineAsync($"forge build: Forge answered {(int)submitted.StatusCode}: {answer}");
            return 3;
        }
        var buildId = answer.GetProperty("id").GetString()!;
        var build = asJson ? await FollowQuietlyAsync(client, buildId, cancellationToken) : await FollowWithProgressAsync(client, buildId, cancellationToken);
        var report = await BuildReport.CollectAsync(client, build, cancellationToken);
        if (asJson)
            Console.WriteLine(JsonSerializer.Serialize(new { build, report }, PrintedJson));
        else
            BuildReport.Print(build, report);
        return build.GetProperty("state").GetString() == "Completed" ? 0 : 1;
    }

    private static async Task<JsonElement> FollowQuietlyAsync(HttpClient client, string buildId, CancellationToken cancellationToken)
    {
        while (true)
        {
            var build = await client.GetFromJsonAsync<JsonElement>($"api/orchestrator/builds/{buildId}", cancellationToken);
            if (build.GetProperty("state").GetString() != "Running")
                return build;
            await Task.Delay(500, cancellationToken);
        }
    }

    private static async Task<JsonElement> FollowWithProgressAsync(HttpClient client, string buildId, CancellationToken cancellationToken)
    {
        JsonElement build = default;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var tasks = new Dictionary<string, ProgressTask>();
                while (true)
                {
                    build = await client.GetFromJsonAsync<JsonElement>($"api/orchestrator/builds/{buildId}", cancellationToken);
                    foreach (var stage in build.GetProperty("stages").EnumerateArray())
                    {
                        var name = stage.GetProperty("name").GetString()!;
                        var state = stage.GetProperty("state").GetString();
                        if (!tasks.TryGetValue(name, out var task))
                            tasks[name] = task = context.AddTask(name, autoStart: false, maxValue: 1);
                        var detail = stage.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                        var colour = state switch { "Completed" => "green", "Failed" => "red", "Running" => "yellow", _ => "grey" };
                        task.Description = $"[{colour}]{name,-9}[/] {Markup.Escape(Shorten(detail ?? state ?? "", 70))}";
                        if (state is "Running" or "Completed" or "Failed" && !task.IsStarted)
                            task.StartTask();
                        var fraction = stage.TryGetProperty("fraction", out var f) && f.ValueKind == JsonValueKind.Number ? f.GetDouble() : 0;
                        task.Value = state == "Completed" ? 1 : fraction;
                        if (state is "Completed" or "Failed" && !task.IsFinished)
                            task.StopTask();
                    }
                    if (build.GetProperty("state").GetString() != "Running")
                        return;
                    await Task.Delay(500, cancellationToken);
                }
            });
        return build;
    }

    private static string Shorten(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";
}

/// <summary>What a finished build made, gathered from the services' APIs for the CLI's report.</summary>
public static class BuildReport
{
    private static readonly string[] SamplePrompts = ["The", "A man", "You will", "Love is"];

    public static async Task<JsonElement> CollectAsync(HttpClient client, JsonElement build, CancellationToken cancellationToken)
    {
        var report = new Dictionary<string, object?>();
        async Task<JsonElement?> GetAsync(string path)
        {
            using var response = await client.GetAsync(path, cancellationToken);
            return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken) : null;
        }
        report["cleaning"] = await GetAsync($"api/cleaning/datasets/{build.GetProperty("datasetId").GetString()}/report");
        report["tokenizer"] = await GetAsync($"api/tokenizer/tokenizers/{build.GetProperty("tokenizerId").GetString()}");
        if (await GetAsync($"api/trainer/runs/{build.GetProperty("runId").GetString()}") is { } run)
        {
            var losses = run.GetProperty("curve").EnumerateArray().Where(p => p.TryGetProperty("loss", out var l) && l.ValueKind == JsonValueKind.Number)
                .Select(p => (Step: p.GetProperty("step").GetInt64(), Loss: p.GetProperty("loss").GetDouble())).ToList();
            report["training"] = new
            {
                steps = run.GetProperty("step").GetInt64(),
                tokensPerSecond = run.GetProperty("tokensPerSecond").GetDouble(),
                firstLoss = losses.Count > 0 ? losses[0].Loss : (double?)null,
                lastLoss = losses.Count > 0 ? losses[^1].Loss : (double?)null,
                lowestLoss = losses.Count > 0 ? losses.Min(l => l.Loss) : (double?)null,
                curve = losses.Where((_, i) => i % Math.Max(1, losses.Count / 10) == 0 || i == losses.Count - 1).Select(l => new { step = l.Step, loss = l.Loss }).ToList(),
                parameters = run.GetProperty("model"),
            };
        }
        report["metrics"] = build.GetProperty("metrics");
        if (build.GetProperty("state").GetString() == "Completed")
        {
            var samples = new List<object>();
            foreach (var prompt in SamplePrompts)
            {
                using var response = await client.PostAsJsonAsync("api/inference/completions", new { model = build.GetProperty("model").GetString(), prompt, maxTokens = 48, temperature = 0.8, topK = 50, seed = 7 }, cancellationToken);
                if (response.IsSuccessStatusCode && await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken) is var generation)
                    samples.Add(new { prompt, output = generation.GetProperty("output").GetString(), id = generation.GetProperty("id").GetString() });
            }
            report["samples"] = samples;
        }
        return JsonSerializer.SerializeToElement(report);
    }

    public static void Print(JsonElement build, JsonElement report)
    {
        var state = build.GetProperty("state").GetString();
        AnsiConsole.WriteLine();
        AnsiConsole.MarkupLine(state == "Completed"
            ? $"[green bold]Build {Markup.Escape(build.GetProperty("id").GetString()!)} completed:[/] model version {Markup.Escape(build.GetProperty("modelVersionId").GetString() ?? "")} is promoted and served."
            : $"[red bold]Build {Markup.Escape(build.GetProperty("id").GetString()!)} {state}:[/] {Markup.Escape(build.TryGetProperty("failure", out var failure) ? failure.GetString() ?? "" : "")}");

        if (report.TryGetProperty("cleaning", out var cleaning) && cleaning.ValueKind == JsonValueKind.Object)
        {
            var table = new Table().Title("Data").AddColumns("", "documents");
            table.AddRow("ingested", Number(cleaning.GetProperty("documentsIn")));
            table.AddRow("kept", Number(cleaning.GetProperty("documentsOut")));
            foreach (var reason in cleaning.GetProperty("dropped").EnumerateObject().OrderByDescending(r => r.Value.GetInt64()))
                table.AddRow($"dropped: {Markup.Escape(reason.Name)}", Number(reason.Value));
            AnsiConsole.Write(table);
        }
        if (report.TryGetProperty("tokenizer", out var tokenizer) && tokenizer.ValueKind == JsonValueKind.Object)
            AnsiConsole.MarkupLine($"[bold]Tokenizer[/] {Markup.Escape(tokenizer.GetProperty("id").GetString()!)}: {tokenizer.GetProperty("vocabularySize")} tokens" +
                (tokenizer.TryGetProperty("charactersPerToken", out var cpt) && cpt.ValueKind == JsonValueKind.Number ? string.Create(CultureInfo.InvariantCulture, $", {cpt.GetDouble():F2} characters per token") : ""));
        if (report.TryGetProperty("training", out var training) && training.ValueKind == JsonValueKind.Object)
        {
            var line = new StringBuilder();
            foreach (var point in training.GetProperty("curve").EnumerateArray())
                line.Append(CultureInfo.InvariantCulture, $"{point.GetProperty("step").GetInt64()}:{point.GetProperty("loss").GetDouble():F2} ");
            AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"[bold]Training[/] {training.GetProperty("steps").GetInt64()} steps at {training.GetProperty("tokensPerSecond").GetDouble():N0} tokens/s; loss {Loss(training, "firstLoss")} → {Loss(training, "lastLoss")} (lowest {Loss(training, "lowestLoss")})"));
            AnsiConsole.MarkupLine($"[grey]loss curve (step:loss) {Markup.Escape(line.ToString())}[/]");
        }
        if (report.TryGetProperty("metrics", out var metrics) && metrics.ValueKind == JsonValueKind.Object)
        {
            var table = new Table().Title("Evaluation").AddColumns("metric", "value");
            foreach (var metric in metrics.EnumerateObject())
                table.AddRow(Markup.Escape(metric.Name), metric.Value.GetDouble().ToString("G5", CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
        }
        if (report.TryGetProperty("samples", out var samples) && samples.ValueKind == JsonValueKind.Array)
        {
            AnsiConsole.MarkupLine("[bold]Samples[/] (temperature 0.8, top-k 50):");
            foreach (var sample in samples.EnumerateArray())
                AnsiConsole.MarkupLine($"  [yellow]{Markup.Escape(sample.GetProperty("prompt").GetString()!)}[/]{Markup.Escape(sample.GetProperty("output").GetString()!)}");
        }
    }

    private static string Number(JsonElement value) => value.GetInt64().ToString("N0", CultureInfo.InvariantCulture);

    private static string Loss(JsonElement training, string name) =>
        training.GetProperty(name).ValueKind == JsonValueKind.Number ? training.GetProperty(name).GetDouble().ToString("F3", CultureInfo.InvariantCulture) : "-";
}
