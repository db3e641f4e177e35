using Forge.Evaluator;
using Forge.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddEvaluator();
builder.AddForgeBus();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapEvaluatorApi();

app.Run();
