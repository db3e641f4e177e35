using Forge.Cli;
using Forge.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Forge.EndToEnd.Tests;

/// <summary>The embedded host (what `forge up` runs), started in this process on a free loopback port.</summary>
public class EmbeddedForge : IAsyncLifetime
{
    public const long BodyLimit = 256 * 1024;
    private readonly TemporaryFolder _data = new("embedded");
    private WebApplication? _app;
    private LoopbackApp? _host;

    public WebApplication App => _app ?? throw new InvalidOperationException("Not started.");
    public HttpClient Client => _host!.Client;
    public string AdminKey { get; private set; } = "";

    /// <summary>Settings a derived fixture adds to (or changes in) the host's configuration.</summary>
    protected virtual IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>();

    public virtual async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Forge:DataPath"] = _data.Path,
            ["Forge:MaxRequestBodyBytes"] = BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in Settings)
            settings[key] = value;
        _app = EmbeddedHost.Build([], settings);
        _host = await LoopbackApp.StartAsync(_app);
        // The first start wrote the local admin key; every request of these tests sends it, as a user's client would.
        AdminKey = EmbeddedHost.AdminKey(_app) ?? throw new InvalidOperationException("The embedded host wrote no admin key.");
        _host.Client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
    }

    public virtual async Task DisposeAsync()
    {
        if (_host is not null)
            await _host.DisposeAsync();
        _data.Dispose();
    }
}
