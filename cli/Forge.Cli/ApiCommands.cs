using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace Forge.Cli;

/// <summary>
/// The commands that drive a running Forge over HTTP (the gateway, or <c>forge up</c>): datasets, ingest, runs,
/// models, chat, generate, feedback and keys. Each takes <c>--url</c>, <c>--key</c> and <c>--json</c>. Exit codes:
/// 0 done, 1 Forge refused the request (its problem is printed), 3 Forge could not be reached or the key was refused.
/// </summary>
public static class ApiCommands
{
    private static readonly JsonSerializerOptions Printed = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The options every API command shares.</summary>
    private sealed class Connection
    {
        public Option<string> Url { get; } = new("--url") { Description = "Forge's address (the gateway, or forge up)", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("FORGE_URL") ?? "http://127.0.0.1:8080" };
        public Option<string?> Key { get; } = new("--key") { Description = "API key (default: FORGE_API_KEY, else .forge/admin.key)" };
        public Option<string> Data { get; } = new("--data") { Description = "The embedded Forge's data folder, where its admin key is", DefaultValueFactory = _ => ".forge" };
        public Option<bool> Json { get; } = new("--json") { Description = "Print Forge's JSON answer (for scripts)" };

        public void AddTo(Command command)
        {
            command.Options.Add(Url);
            command.Options.Add(Key);
            command.Options.Add(Data);
            command.Options.Add(Json);
        }

        public HttpClient Client(ParseResult parse)
        {
            var client = new HttpClient { BaseAddress = new Uri(parse.GetValue(Url)!.TrimEnd('/') + "/"), Timeout = TimeSpan.FromMinutes(10) };
            if ((parse.GetValue(Key) ?? ApiKeyResolver.FromEnvironment(parse.GetValue(Data)!)) is { } key)
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            return client;
        }
    }

    public static IEnumerable<Command> Create()
    {
        yield return Datasets();
        yield return Ingest();
        yield return Runs();
        yield return Models();
        yield return Generate();
        yield return Chat();
        yield return Feedback();
        yield return Keys();
    }

    /// <summary>Runs one API call: prints the answer (as JSON or through <paramref name="show"/>) and maps the outcome to an exit code.</summary>
    private static Func<ParseResult, CancellationToken, Task<int>> Call(Connection connection, Func<ParseResult, HttpClient, CancellationToken, Task<HttpResponseMessage>> send, Action<JsonElement>? show = null) =>
        async (parse, cancellationToken) =>
        {
            try
            {
                using var client = connection.Client(parse);
                using var response = await send(parse, client, cancellationToken);
                var text = await response.Content.ReadAsStringAsync(cancellationToken);
                var body = text.Length > 0 && (response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) ?? false)
                    ? JsonDocument.Parse(text).RootElement.Clone() : default;
                if (!response.IsSuccessStatusCode)
                {
                    var detail = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("detail", out var d) ? d.GetString() : text;
                    await Console.Error.WriteLineAsync($"forge: {(int)response.StatusCode} {response.ReasonPhrase}: {detail}");
                    if (parse.GetValue(connection.Json) && body.ValueKind != JsonValueKind.Undefined)
                        Console.WriteLine(JsonSerializer.Serialize(body, Printed));
                    return response.StatusCode is HttpStatusCode.Unauthorized ? 3 : 1;
                }
                if (parse.GetValue(connection.Json) || show is null)
                    Console.WriteLine(body.ValueKind == JsonValueKind.Undefined ? text : JsonSerializer.Serialize(body, Printed));
                else
                    show(body);
                return 0;
            }
            catch (HttpRequestException e)
            {
                await Console.Error.WriteLineAsync($"forge: cannot reach Forge: {e.Message}");
                return 3;
            }
        };

    private static Command Sub(string name, string description, Connection connection, IEnumerable<Symbol> symbols,
        Func<ParseResult, HttpClient, CancellationToken, Task<HttpResponseMessage>> send, Action<JsonElement>? show = null)
    {
        var command = new Command(name, description);
        foreach (var symbol in symbols)
        {
            if (symbol is Argument argument)
                command.Arguments.Add(argument);
            else if (symbol is Option option)
                command.Options.Add(option);
        }
        connection.AddTo(command);
        command.SetAction(Call(connection, send, show));
        return command;
    }

    private static void Table(JsonElement rows, params (string Header, Func<JsonElement, string> Cell)[] columns)
    {
        var table = new Table();
        foreach (var (header, _) in columns)
            table.AddColumn(header);
        foreach (var row in rows.EnumerateArray())
            table.AddRow(columns.Select(c => Markup.Escape(c.Cell(row))).ToArray());
        AnsiConsole.Write(table);
    }

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.Null or JsonValueKind.Undefined => "",
            _ => value.ToString(),
        } : "";

    private static Command Datasets()
    {
        var command = new Command("datasets", "Datasets: list them, or show one with its batches and cleaning report");
        command.Subcommands.Add(Sub("list", "Every dataset", new Connection(), [], (_, client, ct) => client.GetAsync("api/ingestion/datasets", ct),
            rows => Table(rows, ("id", r => Text(r, "id")), ("description", r => Text(r, "description")))));
        var id = new Argument<string>("id");
        command.Subcommands.Add(Sub("show", "One dataset: sources, batches, totals", new Connection(), [id], (parse, client, ct) => client.GetAsync($"api/ingestion/datasets/{Uri.EscapeDataString(parse.GetValue(id)!)}", ct)));
        return command;
    }

    private static Command Ingest()
    {
        var dataset = new Argument<string>("dataset") { Description = "The dataset (created when missing)" };
        var paths = new Argument<string[]>("paths") { Description = "Files or folders to upload (.txt .md .html .pdf .jsonl, also .gz/.zst); '-' streams stdin as NDJSON", Arity = ArgumentArity.OneOrMore };
        var source = new Option<string?>("--source") { Description = "The source the documents come from" };
        return Sub("ingest", "Sends files, folders or NDJSON from stdin to a dataset", new Connection(), [dataset, paths, source], async (parse, client, ct) =>
        {
            var datasetId = parse.GetValue(dataset)!;
            using (var created = await client.PostAsJsonAsync("api/ingestion/datasets", new { id = datasetId }, ct))
            {
                if (!created.IsSuccessStatusCode && created.StatusCode != HttpStatusCode.Conflict)
                    return new HttpResponseMessage(created.StatusCode) { Content = new StringContent(await created.Content.ReadAsStringAsync(ct), Encoding.UTF8, "application/problem+json") };
            }
            var query = parse.GetValue(source) is { } name ? $"?source={Uri.EscapeDataString(name)}" : "";
            var given = parse.GetValue(paths)!;
            if (given is ["-"])
            {
                var stream = new StreamContent(Console.OpenStandardInput());
                stream.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
                return await client.PostAsync($"api/ingestion/datasets/{Uri.EscapeDataString(datasetId)}/stream{query}", stream, ct);
            }
            var files = given.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal) : (IEnumerable<string>)[p]).ToList();
            using var form = new MultipartFormDataContent();
            foreach (var file in files)
                form.Add(new StreamContent(File.OpenRead(file)), "files", Path.GetFileName(file));
            AnsiConsole.MarkupLine($"[grey]uploading {files.Count} files…[/]");
            return await client.PostAsync($"api/ingestion/datasets/{Uri.EscapeDataString(datasetId)}/files{query}", form, ct);
        });
    }

    private static Command Runs()
    {
        var command = new Command("runs", "Training runs: list, watch with a progress bar and a live loss line, cancel");
        command.Subcommands.Add(Sub("list", "Runs, newest first", new Connection(), [], (_, client, ct) => client.GetAsync("api/trainer/runs", ct),
            rows => Table(rows, ("id", r => Text(r, "id")), ("name", r => Text(r, "name")), ("state", r => Text(r, "state")), ("step", r => Text(r, "step")), ("loss", r => Text(r, "lastLoss")))));
        var id = new Argument<string>("id");
        command.Subcommands.Add(Sub("cancel", "Stops a run", new Connection(), [id], (parse, client, ct) => client.PostAsync($"api/trainer/runs/{Uri.EscapeDataString(parse.GetValue(id)!)}/cancel", null, ct)));
        var watched = new Argument<string>("id");
        var watch = new Command("watch", "Follows a run until it ends: progress bar, loss, tokens per second") { watched };
        var connection = new Connection();
        connection.AddTo(watch);
        watch.SetAction(async (parse, ct) =>
        {
            using var client = connection.Client(parse);
            var runId = Uri.EscapeDataString(parse.GetValue(watched)!);
            JsonElement run = default;
            try
            {
                await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .StartAsync(async context =>
                    {
                        var task = context.AddTask(runId, maxValue: 1);
                        while (true)
                        {
                            using var response = await client.GetAsync($"api/trainer/runs/{runId}", ct);
                            if (!response.IsSuccessStatusCode)
                                throw new InvalidOperationException($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
                            run = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
                            var step = run.GetProperty("step").GetInt64();
                            var max = run.GetProperty("training").GetProperty("maxSteps").GetInt64();
                            task.Value = (double)step / Math.Max(1, max);
                            task.Description = $"{runId} step {step}/{max} loss {Text(run, "lastLoss")} {run.GetProperty("tokensPerSecond").GetDouble():N0} tok/s";
                            if (Text(run, "state") is "Completed" or "Failed" or "Cancelled")
                                return;
                            await Task.Delay(1000, ct);
                        }
                    });
            }
            catch (Exception e) when (e is InvalidOperationException or HttpRequestException)
            {
                await Console.Error.WriteLineAsync($"forge: {e.Message}");
                return e is HttpRequestException ? 3 : 1;
            }
            if (parse.GetValue(connection.Json))
                Console.WriteLine(JsonSerializer.Serialize(run, Printed));
            else
                AnsiConsole.MarkupLine($"run {Markup.Escape(runId)}: {Markup.Escape(Text(run, "state"))} {Markup.Escape(Text(run, "failure"))}");
            return Text(run, "state") == "Completed" ? 0 : 1;
        });
        command.Subcommands.Add(watch);
        return command;
    }

    private static Command Models()
    {
        var command = new Command("models", "The model registry: list, promote, rollback, export");
        var model = new Option<string?>("--model") { Description = "Only this model's versions" };
        command.Subcommands.Add(Sub("list", "Model versions with their state and metrics", new Connection(), [model],
            (parse, client, ct) => client.GetAsync("api/orchestrator/models" + (parse.GetValue(model) is { } m ? $"?model={Uri.EscapeDataString(m)}" : ""), ct),
            rows => Table(rows, ("version", r => Text(r, "id")), ("state", r => Text(r, "state")), ("run", r => Text(r, "runId")),
                ("validation", r => r.TryGetProperty("metrics", out var m) && m.TryGetProperty("validation", out var v) ? v.ToString() : ""))));
        var version = new Argument<string>("version") { Description = "{model}@{n}" };
        var reason = new Option<string>("--reason") { DefaultValueFactory = _ => "promoted from the command line" };
        command.Subcommands.Add(Sub("promote", "Gated promotion of a version (refused with the reasons when it does not pass)", new Connection(), [version, reason],
            (parse, client, ct) => client.PostAsJsonAsync($"api/orchestrator/models/{Uri.EscapeDataString(parse.GetValue(version)!)}/promote", new { by = Environment.UserName, reason = parse.GetValue(reason) }, ct)));
        var family = new Argument<string>("model");
        command.Subcommands.Add(Sub("rollback", "Restores the version promoted before the current one", new Connection(), [family],
            (parse, client, ct) => client.PostAsJsonAsync("api/orchestrator/models/rollback", new { model = parse.GetValue(family), by = Environment.UserName, reason = "rolled back from the command line" }, ct)));
        var exported = new Argument<string>("version");
        command.Subcommands.Add(Sub("export", "Exports a version in Hugging Face's GPT-2 layout (in the artifact store)", new Connection(), [exported],
            (parse, client, ct) => client.PostAsync($"api/evaluator/models/{Uri.EscapeDataString(parse.GetValue(exported)!)}/export", null, ct)));
        return command;
    }

    private static Command Generate()
    {
        var prompt = new Argument<string>("prompt");
        var model = new Option<string?>("--model");
        var maxTokens = new Option<int>("--max-tokens") { DefaultValueFactory = _ => 128 };
        var temperature = new Option<double>("--temperature") { DefaultValueFactory = _ => 0.8 };
        var topK = new Option<int>("--top-k") { DefaultValueFactory = _ => 50 };
        var seed = new Option<long?>("--seed");
        var command = new Command("generate", "Continues a prompt, printing the tokens as they come") { prompt, model, maxTokens, temperature, topK, seed };
        var connection = new Connection();
        connection.AddTo(command);
        command.SetAction((parse, ct) => StreamAsync(connection, parse, "api/inference/completions", new
        {
            prompt = parse.GetValue(prompt),
            model = parse.GetValue(model),
            maxTokens = parse.GetValue(maxTokens),
            temperature = parse.GetValue(temperature),
            topK = parse.GetValue(topK),
            seed = parse.GetValue(seed),
            stream = true,
        }, parse.GetValue(prompt) ?? "", ct));
        return command;
    }

    private static Command Chat()
    {
        var model = new Option<string?>("--model");
        var system = new Option<string?>("--system") { Description = "A system message for the conversation" };
        var maxTokens = new Option<int>("--max-tokens") { DefaultValueFactory = _ => 128 };
        var command = new Command("chat", "Talks with a model: one line per turn, answers stream in; an empty line or Ctrl+D ends") { model, system, maxTokens };
        var connection = new Connection();
        connection.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var turns = new List<object>();
            if (parse.GetValue(system) is { } text)
                turns.Add(new { role = "system", content = text });
            while (true)
            {
                if (!Console.IsInputRedirected)
                    Console.Write("> ");
                var line = Console.ReadLine();
                if (string.IsNullOrWhiteSpace(line))
                    return 0;
                turns.Add(new { role = "user", content = line });
                var (code, answer) = await StreamChatAsync(connection, parse, new { messages = turns, model = parse.GetValue(model), maxTokens = parse.GetValue(maxTokens), stream = true }, ct);
                if (code != 0)
                    return code;
                turns.Add(new { role = "assistant", content = answer });
            }
        });
        return command;
    }

    private static async Task<int> StreamAsync(Connection connection, ParseResult parse, string path, object body, string echo, CancellationToken ct) =>
        (await StreamCoreAsync(connection, parse, path, body, echo, ct)).Code;

    private static Task<(int Code, string Text)> StreamChatAsync(Connection connection, ParseResult parse, object body, CancellationToken ct) =>
        StreamCoreAsync(connection, parse, "api/inference/chat", body, "", ct);

    /// <summary>Posts a streaming generation and prints each token event's text as it arrives; --json prints the stored generation.</summary>
    private static async Task<(int Code, string Text)> StreamCoreAsync(Connection connection, ParseResult parse, string path, object body, string echo, CancellationToken ct)
    {
        try
        {
            using var client = connection.Client(parse);
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            if (!response.IsSuccessStatusCode)
            {
                await Console.Error.WriteLineAsync($"forge: {(int)response.StatusCode} {response.ReasonPhrase}: {await response.Content.ReadAsStringAsync(ct)}");
                return (response.StatusCode is HttpStatusCode.Unauthorized ? 3 : 1, "");
            }
            var json = parse.GetValue(connection.Json);
            if (!json)
                Console.Write(echo);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
            string? name = null;
            var text = new StringBuilder();
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                    name = line[7..];
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    var data = JsonDocument.Parse(line[6..]).RootElement;
                    if (name == "token")
                    {
                        var piece = data.GetProperty("text").GetString()!;
                        text.Append(piece);
                        if (!json)
                            Console.Write(piece);
                    }
                    else if (name == "done" && json)
                        Console.WriteLine(JsonSerializer.Serialize(data, Printed));
                }
            }
            if (!json)
                Console.WriteLine();
            return (0, text.ToString());
        }
        catch (HttpRequestException e)
        {
            await Console.Error.WriteLineAsync($"forge: cannot reach Forge: {e.Message}");
            return (3, "");
        }
    }

    private static Command Feedback()
    {
        var command = new Command("feedback", "Feedback: list recent items, export training data");
        var model = new Option<string?>("--model");
        command.Subcommands.Add(Sub("list", "Recent feedback", new Connection(), [model],
            (parse, client, ct) => client.GetAsync("api/feedback/items" + (parse.GetValue(model) is { } m ? $"?model={Uri.EscapeDataString(m)}" : ""), ct)));
        var exportModel = new Argument<string>("model");
        var kind = new Option<string>("--kind") { Description = "sft, preferences or unpaired", DefaultValueFactory = _ => "sft" };
        kind.AcceptOnlyFromAmong("sft", "preferences", "unpaired");
        command.Subcommands.Add(Sub("export", "Prints a model's feedback as JSONL training data", new Connection(), [exportModel, kind],
            (parse, client, ct) => client.GetAsync($"api/feedback/models/{Uri.EscapeDataString(parse.GetValue(exportModel)!)}/export/{parse.GetValue(kind)}", ct)));
        return command;
    }

    private static Command Keys()
    {
        var command = new Command("keys", "API keys (admin): create, list, revoke");
        var name = new Argument<string>("name");
        var scopes = new Option<string[]>("--scope") { Description = "read, ingest, train or admin (repeatable)", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = true };
        command.Subcommands.Add(Sub("create", "Creates a key; it is printed once", new Connection(), [name, scopes],
            (parse, client, ct) => client.PostAsJsonAsync("api/gateway/keys", new { name = parse.GetValue(name), scopes = parse.GetValue(scopes) ?? [] }, ct),
            created => AnsiConsole.MarkupLine($"key [bold]{Markup.Escape(Text(created, "key"))}[/] (id {Markup.Escape(Text(created, "id"))}); keep it: it is not shown again")));
        command.Subcommands.Add(Sub("list", "Every key (never its secret)", new Connection(), [], (_, client, ct) => client.GetAsync("api/gateway/keys", ct),
            rows => Table(rows, ("id", r => Text(r, "id")), ("name", r => Text(r, "name")), ("scopes", r => string.Join(",", r.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()))), ("revoked", r => Text(r, "revokedAt")))));
        var id = new Argument<string>("id");
        command.Subcommands.Add(Sub("revoke", "Revokes a key at once", new Connection(), [id], (parse, client, ct) => client.DeleteAsync($"api/gateway/keys/{Uri.EscapeDataString(parse.GetValue(id)!)}", ct)));
        return command;
    }
}
