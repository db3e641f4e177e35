using Forge.Evaluator;
using Forge.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddEvaluator();
builder.AddForgeBus(bus => bus.AddEvaluatorConsumers());

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapEvaluatorApi();

app.Run();
