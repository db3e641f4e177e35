using System.CommandLine;
using Forge.Cli;

var root = new RootCommand("Forge: build your own language model from your own text.");
root.Subcommands.Add(UpCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(BuildCommand.Create());
foreach (var command in ApiCommands.Create())
    root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
