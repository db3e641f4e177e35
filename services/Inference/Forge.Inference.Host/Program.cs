using Forge.Inference;
using Forge.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddInference();
builder.AddForgeBus();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapInferenceApi();

app.Run();
