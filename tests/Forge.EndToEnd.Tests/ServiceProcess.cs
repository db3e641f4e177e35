using System.Diagnostics;
using System.Text;
using Forge.Testing;

namespace Forge.EndToEnd.Tests;

/// <summary>A Forge host started as a real process (dotnet Forge.X.Host.dll), stopped with a real kill.</summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    /// <summary>Generous: the distributed fixture starts eight hosts at once on two cores, beside other builds.</summary>
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(120);

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly string _dll;
    private readonly IReadOnlyDictionary<string, string> _environment;

    private ServiceProcess(string name, string dll, IReadOnlyDictionary<string, string> environment, Uri address, Process process)
    {
        Name = name;
        _dll = dll;
        _environment = environment;
        Address = address;
        _process = process;
    }

    public string Name { get; }
    public Uri Address { get; }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public static Task<ServiceProcess> StartAsync(string name, string projectFolder, string assemblyName, IReadOnlyDictionary<string, string> environment)
    {
        var dll = RepositoryPaths.HostAssembly(projectFolder, assemblyName);
        if (!File.Exists(dll))
            throw new FileNotFoundException($"Build the solution first: {dll} is missing.", dll);
        return StartAsync(name, dll, new Dictionary<string, string>(environment), new Uri($"http://127.0.0.1:{TestServers.FreePort()}"));
    }

    /// <summary>
    /// Starts this service again after a kill: the same assembly and settings (so the same stores and queues), on the
    /// same address, so that the gateway in front finds it where it was.
    /// </summary>
    public async Task<ServiceProcess> StartAgainAsync()
    {
        await KillAsync();
        return await StartAsync(Name, _dll, _environment, Address);
    }

    private static async Task<ServiceProcess> StartAsync(string name, string dll, IReadOnlyDictionary<string, string> environment, Uri address)
    {
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["Urls"] = address.ToString().TrimEnd('/');
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment)
            start.Environment[key] = value;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {name}.");
        var service = new ServiceProcess(name, dll, environment, address, process);
        process.OutputDataReceived += (_, e) => service.Append(e.Data);
        process.ErrorDataReceived += (_, e) => service.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await service.WaitUntilReadyAsync(ReadyTimeout);
        }
        catch
        {
            // Nobody else holds this process yet: a host that never became ready must not outlive the test.
            await service.DisposeAsync();
            throw;
        }
        return service;
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        using var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(5) };
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode}:\n{Output}");
            try
            {
                using var response = await client.GetAsync("/health/ready");
                if (response.IsSuccessStatusCode)
                    return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"{Name} was not ready after {timeout.TotalSeconds:0}s:\n{Output}");
    }

    private bool _disposed;

    /// <summary>Kills the process (SIGKILL: no graceful shutdown, as when a machine dies) and waits for it to be gone.</summary>
    public async Task KillAsync()
    {
        if (_disposed || _process.HasExited)
            return;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        await KillAsync();
        _disposed = true;
        _process.Dispose();
    }
}
