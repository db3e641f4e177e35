using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Forge.Gateway;
using Forge.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using YamlDotNet.RepresentationModel;

namespace Forge.Gateway.Tests;

/// <summary>
/// The real gateway (YARP, API keys, scopes, rate limits, body limits, request ids) in front of a stand-in service on
/// loopback that echoes what reaches it: every check is over real HTTP.
/// </summary>
public sealed class GatewaySecurityTests : IAsyncLifetime
{
    private const int Burst = 10;
    private readonly TemporaryFolder _data = new("gateway");
    private LoopbackApp? _service;
    private LoopbackApp? _gateway;
    private string _adminKey = "";

    private HttpClient Gateway => _gateway!.Client;

    public async Task InitializeAsync()
    {
        // The stand-in service: answers every route with what it received (path, key id, request id).
        var service = WebApplication.CreateBuilder();
        service.Configuration["Urls"] = "http://127.0.0.1:0";
        var serviceApp = service.Build();
        serviceApp.Map("/{**rest}", (HttpContext context) => Results.Json(new
        {
            path = context.Request.Path.Value,
            keyId = context.Request.Headers["X-Forge-Key-Id"].FirstOrDefault(),
            requestId = context.Request.Headers["X-Request-Id"].FirstOrDefault(),
        }));
        _service = await LoopbackApp.StartAsync(serviceApp);

        var settings = new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Forge:DataPath"] = _data.Path,
            ["Forge:MaxRequestBodyBytes"] = "1024",
            ["Forge:Security:PermitsPerSecond"] = "2",
            ["Forge:Security:Burst"] = Burst.ToString(CultureInfo.InvariantCulture),
            ["Serilog:MinimumLevel:Default"] = "Warning",
        };
        foreach (var cluster in new[] { "ingestion", "cleaning", "tokenizer", "trainer", "evaluator", "feedback", "inference", "orchestrator" })
            settings[$"ReverseProxy:Clusters:{cluster}:Destinations:primary:Address"] = _service.Client.BaseAddress!.ToString();
        _gateway = await LoopbackApp.StartAsync(GatewayApp.Build([], settings));
        _adminKey = (await File.ReadAllTextAsync(Path.Combine(_data.Path, "admin.key"))).Trim();
    }

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
            await _gateway.DisposeAsync();
        if (_service is not null)
            await _service.DisposeAsync();
        _data.Dispose();
    }

    private async Task<string> CreateKeyAsync(string name, params string[] scopes)
    {
        using var request = Request(HttpMethod.Post, "/api/gateway/keys", _adminKey, JsonContent.Create(new { name, scopes }));
        using var response = await Gateway.SendAsync(request);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body.ToString());
        return body.GetProperty("key").GetString()!;
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, string? key, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (key is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return request;
    }

    [Fact]
    public async Task NoKeyOrABadKeyIs401AndHealthStaysPublic()
    {
        using (var none = await Gateway.GetAsync("/api/ingestion/datasets"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
            Assert.Equal("application/problem+json", none.Content.Headers.ContentType?.MediaType);
            Assert.Contains("Bearer", none.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }
        using (var bad = await Gateway.SendAsync(Request(HttpMethod.Get, "/api/ingestion/datasets", "fk_0000_nope")))
            Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
        using (var tampered = await Gateway.SendAsync(Request(HttpMethod.Get, "/api/ingestion/datasets", _adminKey + "x")))
            Assert.Equal(HttpStatusCode.Unauthorized, tampered.StatusCode);
        using (var health = await Gateway.GetAsync("/health/live"))
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task AKeyWithoutTheScopeIs403AndWithItReachesTheServiceAsItself()
    {
        var reader = await CreateKeyAsync("reader", "read");
        var ingester = await CreateKeyAsync("ingester", "ingest");

        using (var forbidden = await Gateway.SendAsync(Request(HttpMethod.Post, "/api/ingestion/datasets", reader, JsonContent.Create(new { id = "x" }))))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
            Assert.Contains("ingest", await forbidden.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using (var train = await Gateway.SendAsync(Request(HttpMethod.Post, "/api/trainer/runs", ingester, JsonContent.Create(new { }))))
            Assert.Equal(HttpStatusCode.Forbidden, train.StatusCode);
        using (var keys = await Gateway.SendAsync(Request(HttpMethod.Get, "/api/gateway/keys", reader)))
            Assert.Equal(HttpStatusCode.Forbidden, keys.StatusCode);

        // A client cannot claim another key's identity: the gateway replaces X-Forge-Key-Id with the real one.
        using var allowed = Request(HttpMethod.Post, "/api/ingestion/datasets", ingester, JsonContent.Create(new { id = "x" }));
        allowed.Headers.Add("X-Forge-Key-Id", "someone-else");
        using var response = await Gateway.SendAsync(allowed);
        var seen = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/api/ingestion/datasets", seen.GetProperty("path").GetString());
        Assert.Equal(ingester.Split('_')[1], seen.GetProperty("keyId").GetString());
        // Reading and chatting need only read.
        using (var chat = await Gateway.SendAsync(Request(HttpMethod.Post, "/v1/chat/completions", reader, JsonContent.Create(new { }))))
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
    }

    [Fact]
    public async Task ARevokedKeyIsRefusedAtOnceAndKeysAreListedWithoutSecrets()
    {
        var key = await CreateKeyAsync("temporary", "read");
        using (var before = await Gateway.SendAsync(Request(HttpMethod.Get, "/api/inference/models", key)))
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        var id = key.Split('_')[1];
        using (var revoke = await Gateway.SendAsync(Request(HttpMethod.Delete, $"/api/gateway/keys/{id}", _adminKey)))
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        using (var after = await Gateway.SendAsync(Request(HttpMethod.Get, "/api/inference/models", key)))
            Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        using (var again = await Gateway.SendAsync(Request(HttpMethod.Delete, $"/api/gateway/keys/{id}", _adminKey)))
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);

        using var list = await Gateway.SendAsync(Request(HttpMethod.Get, "/api/gateway/keys", _adminKey));
        var text = await list.Content.ReadAsStringAsync();
        Assert.Contains("temporary", text, StringComparison.Ordinal);
        Assert.DoesNotContain(key.Split('_')[2], text, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", text, StringComparison.OrdinalIgnoreCase);

        using (var badScope = await Gateway.SendAsync(Request(HttpMethod.Post, "/api/gateway/keys", _adminKey, JsonContent.Create(new { name = "x", scopes = new[] { "root" } }))))
            Assert.Equal(HttpStatusCode.UnprocessableEntity, badScope.StatusCode);
    }

    [Fact]
    public async Task ABurstOverTheLimitGets429WithRetryAfterAndOtherKeysAreNotAffected()
    {
        var busy = await CreateKeyAsync("busy", "read");
        var calm = await CreateKeyAsync("calm", "read");
        var statuses = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < Burst + 5; i++)
                statuses.Add(await Gateway.SendAsync(Request(HttpMethod.Get, "/api/inference/models", busy)));
            Assert.Equal(Burst, statuses.Count(r => r.StatusCode == HttpStatusCode.OK));
            var limited = statuses.First(r => r.StatusCode == HttpStatusCode.TooManyRequests);
            Assert.NotNull(limited.Headers.RetryAfter);
            Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        }
        finally
        {
            statuses.ForEach(r => r.Dispose());
        }
        using var other = await Gateway.SendAsync(Request(HttpMethod.Get, "/api/inference/models", calm));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Fact]
    public async Task AnOversizeBodyIs413()
    {
        using var response = await Gateway.SendAsync(Request(HttpMethod.Post, "/api/inference/completions", _adminKey,
            new StringContent(new string('x', 4096), Encoding.UTF8, "application/json")));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task TheRequestIdReachesTheServiceAndComesBack()
    {
        using var given = Request(HttpMethod.Get, "/api/cleaning/datasets/x/report", _adminKey);
        given.Headers.Add("X-Request-Id", "trace-me-123");
        using var response = await Gateway.SendAsync(given);
        var seen = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("trace-me-123", seen.GetProperty("requestId").GetString());
        Assert.Equal("trace-me-123", response.Headers.GetValues("X-Request-Id").Single());

        using var fresh = await Gateway.SendAsync(Request(HttpMethod.Get, "/api/cleaning/datasets/x/report", _adminKey));
        var id = fresh.Headers.GetValues("X-Request-Id").Single();
        Assert.Equal(32, id.Length);
        Assert.Equal(id, (await fresh.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("requestId").GetString());
    }

    [Fact]
    public async Task EachServicesOpenApiDocumentAndTheReferenceAreBrowsableWithoutAKey()
    {
        foreach (var service in new[] { "ingestion", "trainer", "inference", "orchestrator" })
        {
            using var document = await Gateway.GetAsync($"/openapi/{service}.json");
            var seen = await document.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(HttpStatusCode.OK, document.StatusCode);
            Assert.Equal("/openapi/v1.json", seen.GetProperty("path").GetString()); // forwarded to the service's own document
        }
        using var docs = await Gateway.GetAsync("/docs");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.Equal("text/html", docs.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public void NoServicePortIsPublishedInDockerCompose()
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(RepositoryPaths.Root, "docker-compose.yml")))
            yaml.Load(reader);
        var services = (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)[new YamlScalarNode("services")];
        var published = services.Children
            .Where(s => ((YamlMappingNode)s.Value).Children.ContainsKey(new YamlScalarNode("ports")))
            .ToDictionary(s => ((YamlScalarNode)s.Key).Value!, s => ((YamlSequenceNode)((YamlMappingNode)s.Value)[new YamlScalarNode("ports")]).Children.Select(p => ((YamlScalarNode)p).Value!).ToList());
        Assert.Equal(["gateway", "rabbitmq", "seq"], published.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["8080:8080"], published["gateway"]);
        Assert.Equal(["15672:15672"], published["rabbitmq"]); // the management UI, not AMQP
        Assert.Equal(["5341:80"], published["seq"]); // Seq's UI
    }
}
