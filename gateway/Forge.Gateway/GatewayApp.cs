using Forge.Dashboard;
using Forge.ServiceDefaults;
using Forge.ServiceDefaults.Security;
using Yarp.ReverseProxy.Transforms;

namespace Forge.Gateway;

/// <summary>The gateway: API keys, scopes and rate limits in front of YARP's routes to the services, /api/status and the dashboard.</summary>
public static class GatewayApp
{
    public static WebApplication Build(string[] args, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (overrides is not null)
            builder.Configuration.AddInMemoryCollection(overrides);

        builder.AddServiceDefaults();
        builder.AddForgeStorage(); // the API keys live in the metadata store
        builder.AddForgeSecurity();
        builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
            // X-Forge-Key-Id tells the services which API key made a request; only the gateway may say so, never a client.
            // The security middleware has already replaced any the client sent; this is a second lock on the same door.
            .AddTransforms(transforms => transforms.AddRequestTransform(context =>
            {
                context.ProxyRequest.Headers.Remove(ForgeSecurity.KeyIdHeader);
                if (context.HttpContext.Request.Headers[ForgeSecurity.KeyIdHeader].FirstOrDefault() is { } keyId)
                    context.ProxyRequest.Headers.TryAddWithoutValidation(ForgeSecurity.KeyIdHeader, keyId);
                return ValueTask.CompletedTask;
            }));

        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.UseForgeSecurity();
        app.MapStatusApi();
        app.MapApiKeysApi();
        app.MapForgeApiReference(ForgeServices.All);
        app.MapForgeDashboard();
        app.MapReverseProxy();
        return app;
    }
}
