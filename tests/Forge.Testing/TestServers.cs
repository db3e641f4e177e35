using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Forge.Testing;

/// <summary>
/// Finds the servers that integration tests need. A test may skip only when a server cannot exist on this
/// machine; with FORGE_REQUIRE_SERVERS=1 (set by .ci/run) a missing RabbitMQ or S3 endpoint fails instead.
/// </summary>
public static class TestServers
{
    /// <summary>
    /// Forge:RabbitMq:QueueExpiry for processes a test starts: the broker deletes a test run's queues ten minutes
    /// after their last consumer left, so runs under fresh bus prefixes do not pile queues up in the shared broker
    /// (a thousand leftovers once kept Debian's RabbitMQ, with its default 1,024 file handles, from starting).
    /// </summary>
    public const string QueueExpiry = "00:10:00";

    public static bool Required => Environment.GetEnvironmentVariable("FORGE_REQUIRE_SERVERS") == "1";

    /// <summary>host:port of RabbitMQ (FORGE_TEST_RABBITMQ, default 127.0.0.1:5672), or null with the reason.</summary>
    public static (string? Endpoint, string Reason) RabbitMq()
    {
        var endpoint = Environment.GetEnvironmentVariable("FORGE_TEST_RABBITMQ") ?? "127.0.0.1:5672";
        return Reachable(endpoint)
            ? (endpoint, "")
            : Missing($"No RabbitMQ server answers at {endpoint}: run infra/rabbitmq.sh (Debian's rabbitmq-server) or set FORGE_TEST_RABBITMQ.");
    }

    /// <summary>host:port of an S3 endpoint (FORGE_TEST_S3, default 127.0.0.1:5900 as started by infra/s3-test-endpoint.sh), or null with the reason.</summary>
    public static (string? Endpoint, string Reason) S3()
    {
        var endpoint = Environment.GetEnvironmentVariable("FORGE_TEST_S3") ?? "127.0.0.1:5900";
        return Reachable(endpoint)
            ? (endpoint, "")
            : Missing($"No S3 endpoint answers at {endpoint}: run infra/s3-test-endpoint.sh (moto_server) or set FORGE_TEST_S3.");
    }

    /// <summary>A MongoDB connection string from FORGE_TEST_MONGODB; no MongoDB server can be installed on the CI machines, so this one may skip there.</summary>
    public static (string? ConnectionString, string Reason) MongoDb()
    {
        var connection = Environment.GetEnvironmentVariable("FORGE_TEST_MONGODB");
        return string.IsNullOrWhiteSpace(connection)
            ? (null, "No MongoDB server: set FORGE_TEST_MONGODB to a connection string to run the MongoDB contract tests.")
            : (connection, "");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static (string?, string) Missing(string reason) =>
        Required ? throw new InvalidOperationException($"{reason} (FORGE_REQUIRE_SERVERS=1, so this fails instead of skipping)") : (null, reason);

    /// <summary>
    /// Whether the endpoint accepts a connection within a few tries over about ten seconds: on a two-core machine busy
    /// with other tests' processes, one attempt with a short wait can miss a server that is there.
    /// </summary>
    private static bool Reachable(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        var host = endpoint[..colon];
        var port = int.Parse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                using var client = new TcpClient();
                if (client.ConnectAsync(host, port).Wait(TimeSpan.FromSeconds(3)) && client.Connected)
                    return true;
            }
            catch (AggregateException)
            {
            }
            catch (SocketException)
            {
            }
            Thread.Sleep(500);
        }
        return false;
    }
}

public static class RepositoryPaths
{
    /// <summary>The checkout's root: the folder above the test binaries that holds Microservices.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release, as this test assembly was built.</summary>
    public static string Configuration { get; } = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;

    public static string HostAssembly(string relativeProjectFolder, string assemblyName) =>
        Path.Combine(Root, relativeProjectFolder, "bin", Configuration, "net10.0", assemblyName + ".dll");

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Microservices.sln")))
                return folder.FullName;
        }
        throw new InvalidOperationException($"No Microservices.sln above {AppContext.BaseDirectory}.");
    }
}

public sealed class TemporaryFolder : IDisposable
{
    public TemporaryFolder(string? name = null)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "forge-tests", $"{name ?? "t"}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

public static class Eventually
{
    /// <summary>Polls until <paramref name="condition"/> holds or the time runs out; returns the last value seen.</summary>
    public static async Task<T> WaitAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, TimeSpan timeout, string what)
    {
        var watch = Stopwatch.StartNew();
        T last = await probe();
        while (!condition(last))
        {
            if (watch.Elapsed > timeout)
                throw new TimeoutException($"Waited {timeout.TotalSeconds:0}s for {what}; last seen: {last}");
            await Task.Delay(100);
            last = await probe();
        }
        return last;
    }
}
