using Forge.Inference;
using Forge.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddInference();
builder.AddForgeBus(bus => bus.AddInferenceConsumers());

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapInferenceApi();

app.Run();
