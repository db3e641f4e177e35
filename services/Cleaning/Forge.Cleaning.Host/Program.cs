using Forge.Cleaning;
using Forge.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddCleaning();
builder.AddForgeBus(bus => bus.AddCleaningConsumers());

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapCleaningApi();

app.Run();
