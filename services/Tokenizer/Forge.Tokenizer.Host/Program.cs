using Forge.Tokenizer;
using Forge.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddTokenizer();
builder.AddForgeBus(bus => bus.AddTokenizerConsumers());

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapTokenizerApi();

app.Run();
