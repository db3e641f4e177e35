using Forge.Feedback;
using Forge.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddFeedback();
builder.AddForgeBus(bus => bus.AddFeedbackConsumers());

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapFeedbackApi();

app.Run();
