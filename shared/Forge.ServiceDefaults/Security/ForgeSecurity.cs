using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forge.ServiceDefaults.Security;

/// <summary>
/// The public entry's protection, shared by the gateway and the embedded host: API keys with scopes (from
/// <c>Authorization: Bearer</c> or <c>X-Api-Key</c>), a token-bucket rate limit per key, and the key's id passed to
/// the services as <c>X-Forge-Key-Id</c> (any such header from a client is dropped first).
/// </summary>
public static class ForgeSecurity
{
    public const string KeyIdHeader = "X-Forge-Key-Id";
    private const string KeyItem = "forge.apiKey";

    public static IHostApplicationBuilder AddForgeSecurity(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(SecurityOptions.Section).Get<SecurityOptions>() ?? new SecurityOptions();
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<ApiKeyService>();
        builder.Services.AddHostedService<AdminKeyBootstrap>();
        builder.Services.AddRateLimiter(limiter =>
        {
            // Refilled every 100 ms (or one token at a time below 10 a second), so a burst is spent at once and then paced.
            var (tokens, period) = options.PermitsPerSecond >= 10
                ? ((int)Math.Round(options.PermitsPerSecond / 10), TimeSpan.FromMilliseconds(100))
                : (1, TimeSpan.FromSeconds(1 / Math.Max(0.01, options.PermitsPerSecond)));
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                context.Items[KeyItem] is ApiKeyRecord key
                    ? RateLimitPartition.GetTokenBucketLimiter(key.Id, _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = Math.Max(1, options.Burst),
                        TokensPerPeriod = tokens,
                        ReplenishmentPeriod = period,
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    })
                    : RateLimitPartition.GetNoLimiter("unauthenticated"));
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                var response = rejected.HttpContext.Response;
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 1;
                response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
                await TypedResults.Problem(title: "Too many requests",
                    detail: $"This API key may make {options.PermitsPerSecond} requests a second on average (bursts of {options.Burst}); retry after {retryAfter} s.",
                    statusCode: StatusCodes.Status429TooManyRequests).ExecuteAsync(rejected.HttpContext);
            };
        });
        return builder;
    }

    /// <summary>Authentication, scope checks and the rate limit, in that order; call before the endpoints (or the proxy) run.</summary>
    public static WebApplication UseForgeSecurity(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<SecurityOptions>();
        app.Use(async (context, next) =>
        {
            context.Request.Headers.Remove(KeyIdHeader);
            var scope = RouteScopes.Required(context.Request);
            if (scope is null || !options.RequireApiKeys)
            {
                await next(context);
                return;
            }
            var presented = Presented(context.Request);
            var keys = context.RequestServices.GetRequiredService<ApiKeyService>();
            var key = presented is null ? null : await keys.AuthenticateAsync(presented, context.RequestAborted);
            if (key is null)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer realm=\"forge\"";
                await TypedResults.Problem(title: "Unauthorized",
                    detail: presented is null
                        ? "Send an API key as 'Authorization: Bearer <key>' (or 'X-Api-Key: <key>'). The embedded Forge writes its admin key to its data folder (admin.key)."
                        : "The API key is not valid (unknown, revoked or malformed).",
                    statusCode: StatusCodes.Status401Unauthorized).ExecuteAsync(context);
                return;
            }
            if (!key.Allows(scope))
            {
                await TypedResults.Problem(title: "Forbidden",
                    detail: $"The API key '{key.Name}' has the scopes [{string.Join(", ", key.Scopes)}]; {context.Request.Method} {context.Request.Path} needs '{scope}'.",
                    statusCode: StatusCodes.Status403Forbidden).ExecuteAsync(context);
                return;
            }
            context.Items[KeyItem] = key;
            context.Request.Headers[KeyIdHeader] = key.Id;
            await next(context);
        });
        app.UseRateLimiter();
        return app;
    }

    /// <summary>Key management for admins: create (the key is shown once), list, revoke.</summary>
    public static IEndpointRouteBuilder MapApiKeysApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/gateway/keys").WithTags("API keys");
        group.MapPost("/", async Task<Results<Created<CreatedKey>, ProblemHttpResult>> (HttpRequest request, ApiKeyService keys, CancellationToken cancellationToken) =>
            {
                var (body, problem) = await JsonBody.ReadAsync<CreateKeyRequest>(request, cancellationToken);
                if (problem is not null)
                    return problem;
                if (string.IsNullOrWhiteSpace(body!.Name) || body.Name.Length > 100)
                    return Problems.Invalid("name", "is required: 1 to 100 characters");
                if (body.Scopes is not { Count: > 0 } scopes)
                    return Problems.Invalid("scopes", $"name at least one of {string.Join(", ", ApiKeyScopes.All)}");
                if (scopes.FirstOrDefault(s => !ApiKeyScopes.All.Contains(s)) is { } unknown)
                    return Problems.Invalid("scopes", $"'{unknown}' is not a scope; use {string.Join(", ", ApiKeyScopes.All)}");
                var (record, key) = await keys.CreateAsync(body.Name.Trim(), scopes, request.Headers[KeyIdHeader].FirstOrDefault(), cancellationToken);
                return TypedResults.Created($"/api/gateway/keys/{record.Id}", new CreatedKey(record.Id, record.Name, record.Scopes, record.CreatedAt, key));
            })
            .WithName("CreateApiKey").WithSummary("Creates an API key with scopes (read, ingest, train, admin); the key is in the answer, and only there");
        group.MapGet("/", async (ApiKeyService keys, CancellationToken cancellationToken) =>
                TypedResults.Ok((await keys.ListAsync(cancellationToken)).Select(k => new KeyView(k.Id, k.Name, k.Scopes, k.CreatedAt, k.CreatedBy, k.RevokedAt)).ToList()))
            .WithName("ListApiKeys").WithSummary("API keys (never their secrets)");
        group.MapDelete("/{id}", async Task<Results<NoContent, ProblemHttpResult>> (string id, ApiKeyService keys, CancellationToken cancellationToken) =>
                await keys.RevokeAsync(id, cancellationToken) ? TypedResults.NoContent() : Problems.NotFound("live API key", id))
            .WithName("RevokeApiKey").WithSummary("Revokes an API key at once");
        return routes;
    }

    private static string? Presented(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.FirstOrDefault();
        if (authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return authorization["Bearer ".Length..].Trim();
        return request.Headers["X-Api-Key"].FirstOrDefault()?.Trim();
    }

    public sealed record CreateKeyRequest
    {
        public string? Name { get; init; }
        public List<string>? Scopes { get; init; }
    }

    public sealed record CreatedKey(string Id, string Name, IReadOnlyList<string> Scopes, DateTime CreatedAt, string Key);

    public sealed record KeyView(string Id, string Name, IReadOnlyList<string> Scopes, DateTime CreatedAt, string? CreatedBy, DateTime? RevokedAt);

    /// <summary>On the first start (no key at all) creates the local admin key and writes it, readable by its owner only, where the options say.</summary>
    private sealed class AdminKeyBootstrap(ApiKeyService keys, SecurityOptions security, ForgeOptions forge, ILogger<AdminKeyBootstrap> logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var path = Path.GetFullPath(security.AdminKeyPath(forge));
            if (await keys.AnyAsync(cancellationToken))
            {
                if (File.Exists(path))
                    logger.LogInformation("Admin API key: {Path}", path);
                return;
            }
            var (_, key) = await keys.CreateAsync("local-admin", [ApiKeyScopes.Admin], "bootstrap", cancellationToken);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, key + "\n", cancellationToken);
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            logger.LogWarning("Created the local admin API key and wrote it to {Path}; send it as 'Authorization: Bearer <key>'", path);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

/// <summary>Which scope a request needs; null for the public health routes and the dashboard's page files.</summary>
public static class RouteScopes
{
    public static string? Required(HttpRequest request)
    {
        var path = request.Path.Value ?? "/";
        if (path.StartsWith("/health", StringComparison.OrdinalIgnoreCase))
            return null;
        // The dashboard's HTML, CSS and JavaScript hold no data: every API call they make sends the user's key.
        if ((HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
            && (path == "/" || path.Equals("/dashboard", StringComparison.OrdinalIgnoreCase) || path.StartsWith("/dashboard/", StringComparison.OrdinalIgnoreCase)))
            return null;
        // The API's description (OpenAPI documents and the reference UI) holds no data either.
        if ((HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
            && (path.StartsWith("/openapi/", StringComparison.OrdinalIgnoreCase) || path.Equals("/docs", StringComparison.OrdinalIgnoreCase) || path.StartsWith("/docs/", StringComparison.OrdinalIgnoreCase)))
            return null;
        if (path.StartsWith("/api/gateway/keys", StringComparison.OrdinalIgnoreCase))
            return ApiKeyScopes.Admin;
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method))
            return ApiKeyScopes.Read;
        if (StartsWithAny(path, "/v1/", "/api/inference/", "/api/feedback/"))
            return ApiKeyScopes.Read;
        if (StartsWithAny(path, "/api/ingestion/", "/api/cleaning/"))
            return ApiKeyScopes.Ingest;
        if (StartsWithAny(path, "/api/tokenizer/", "/api/trainer/", "/api/evaluator/", "/api/orchestrator/"))
            return ApiKeyScopes.Train;
        return ApiKeyScopes.Admin;
    }

    private static bool StartsWithAny(string path, params string[] prefixes) =>
        prefixes.Any(prefix => path.StartsWith(prefix, StringComparison.OrdinalIgnoreCase));
}
