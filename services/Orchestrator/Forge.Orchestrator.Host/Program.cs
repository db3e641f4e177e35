using Forge.Orchestrator;
using Forge.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddOrchestrator();
builder.AddForgeBus(bus => bus.AddOrchestratorConsumers());

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapOrchestratorApi();

app.Run();
