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
    public static async Task<CliResult> RunAsync(string workingFolder, string? input, params string[] arguments)
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
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (input is not null)
            await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"forge {string.Join(' ', arguments)} did not end within 3 minutes: {await error}");
        }
        return new CliResult(process.ExitCode, await output, await error);
    }
}
