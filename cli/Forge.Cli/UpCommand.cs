using System.CommandLine;

namespace Forge.Cli;

/// <summary><c>forge up</c>: the whole system in this process on the embedded default.</summary>
public static class UpCommand
{
    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = "Where to listen", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var data = new Option<string>("--data") { Description = "Folder for the embedded stores and artifacts", DefaultValueFactory = _ => ".forge" };
        var command = new Command("up", "Runs every Forge service in one process: in-memory bus, embedded store, local artifacts folder") { urls, data };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var dataPath = Path.GetFullPath(parse.GetValue(data)!);
            await using var app = EmbeddedHost.Build([], new Dictionary<string, string?>
            {
                ["Urls"] = parse.GetValue(urls),
                ["Forge:DataPath"] = dataPath,
            });
            if (await EmbeddedHost.TryStartAsync(app, "forge up", cancellationToken) is { } refused)
                return refused;
            Console.WriteLine($"Forge is up at {string.Join(", ", app.Urls)} (data in {dataPath}; admin API key in {Path.Combine(dataPath, "admin.key")}). Press Ctrl+C to stop.");
            await app.WaitForShutdownAsync(cancellationToken);
            return 0;
        });
        return command;
    }
}
