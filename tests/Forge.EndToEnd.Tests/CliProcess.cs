using System.Diagnostics;
using System.Text.Json;
using Forge.Testing;

namespace Forge.EndToEnd.Tests;

/// <summary>What a `forge` command printed and how it exited.</summary>
public sealed record CliResult(int ExitCode, string Output, string Error)
{
    public JsonElement Json => JsonDocument.Parse(Output).RootElement;
}

/// <summary>Runs the `forge` command as a user does: a real process (dotnet forge.dll), optionally fed on stdin.</summary>
public static class CliProcess
{
    public static Task<CliResult> RunAsync(string workingFolder, string? input, params string[] arguments) =>
        RunAsync(workingFolder, input, TimeSpan.FromMinutes(3), arguments);

    public static async Task<CliResult> RunAsync(string workingFolder, string? input, TimeSpan patience, params string[] arguments)
    {
        using var process = Start(workingFolder, arguments);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (input is not null)
            await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        return await FinishAsync(process, output, error, patience, arguments);
    }

    /// <summary>Starts `forge` and leaves it running; the caller reads its output and ends it.</summary>
    public static Process Start(string workingFolder, params string[] arguments)
    {
        var dll = RepositoryPaths.HostAssembly("cli/Forge.Cli", "forge");
        var start = new ProcessStartInfo("dotnet", [dll, .. arguments])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingFolder,
        };
        start.Environment.Remove("FORGE_API_KEY");
        start.Environment.Remove("FORGE_URL");
        return Process.Start(start)!;
    }

    /// <summary>Sends SIGTERM, as a service manager or `kill` stops a process (Ctrl+C is SIGINT, handled the same way).</summary>
    public static void Terminate(Process process)
    {
        using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    public static async Task<CliResult> FinishAsync(Process process, Task<string> output, Task<string> error, TimeSpan patience, string[] arguments)
    {
        using var timeout = new CancellationTokenSource(patience);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"forge {string.Join(' ', arguments)} did not end within {patience.TotalMinutes:F1} minutes: {await error}");
        }
        return new CliResult(process.ExitCode, await output, await error);
    }
}
