using Forge.Gateway;

var app = GatewayApp.Build(args);
app.Run();
