using Forge.Cli;
using Forge.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Forge.EndToEnd.Tests;

/// <summary>The embedded host (what `forge up` runs), started in this process on a free loopback port.</summary>
public sealed class EmbeddedForge : IAsyncLifetime
{
    public const long BodyLimit = 256 * 1024;
    private readonly TemporaryFolder _data = new("embedded");
    private WebApplication? _app;

    public WebApplication App => _app ?? throw new InvalidOperationException("Not started.");
    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _app = EmbeddedHost.Build([], new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Forge:DataPath"] = _data.Path,
            ["Forge:MaxRequestBodyBytes"] = BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        _data.Dispose();
    }
}
