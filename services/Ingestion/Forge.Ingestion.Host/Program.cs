using Forge.Ingestion;
using Forge.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddIngestion();
builder.AddForgeBus(bus => bus.AddIngestionConsumers());

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapIngestionApi();

app.Run();
