using System.Diagnostics;

namespace Forge.EndToEnd.Tests;

/// <summary>Runs Debian's <c>rabbitmqctl</c> against the local test broker (through <c>sudo -n</c> when not root), bounded in time.</summary>
public static class RabbitMqCtl
{
    /// <summary>The command's standard output; fails the test when it exits non-zero or takes over a minute.</summary>
    public static async Task<string> RunAsync(params string[] arguments)
    {
        var root = Environment.UserName == "root";
        var start = new ProcessStartInfo(root ? "rabbitmqctl" : "sudo", root ? arguments : ["-n", "rabbitmqctl", .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("rabbitmqctl did not start");
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var error = process.StandardError.ReadToEndAsync(deadline.Token);
        var output = await process.StandardOutput.ReadToEndAsync(deadline.Token);
        await process.WaitForExitAsync(deadline.Token);
        Assert.True(process.ExitCode == 0, $"rabbitmqctl {string.Join(' ', arguments)} failed: {await error}");
        return output;
    }

    /// <summary>One row per queue: its name and the requested columns, tab-separated as rabbitmqctl prints them.</summary>
    public static async Task<IReadOnlyDictionary<string, string[]>> ListQueuesAsync(params string[] columns)
    {
        var listing = await RunAsync(["list_queues", "-q", "name", .. columns]);
        return listing.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t'))
            .Where(parts => parts.Length == columns.Length + 1 && parts[0] != "name")
            .ToDictionary(parts => parts[0], parts => parts[1..], StringComparer.Ordinal);
    }
}
