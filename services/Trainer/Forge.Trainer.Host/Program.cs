using Forge.Trainer;
using Forge.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddTrainer();
builder.AddForgeBus(bus => bus.AddTrainerConsumers());

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapTrainerApi();

app.Run();
