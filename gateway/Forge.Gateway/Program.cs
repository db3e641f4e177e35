using Forge.Gateway;
using Forge.ServiceDefaults;
using Yarp.ReverseProxy.Transforms;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.Services.AddReverseProxy()
    .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
    // X-Forge-Key-Id tells the services which API key made a request; only the gateway may say so, never a client.
    .AddTransforms(transforms => transforms.AddRequestHeaderRemove("X-Forge-Key-Id"));

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapStatusApi();
app.MapReverseProxy();

app.Run();
