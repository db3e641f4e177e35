using Forge.Bench.Trainer;

// dotnet run -c Release --project bench/trainer/Forge.Bench.Trainer -- <tinyshakespeare.txt> [--repeats N] [--iterations N] [--threads N] [--first-seed N] [--sequential]
if (args.Length < 1 || !File.Exists(args[0]))
{
    Console.Error.WriteLine(CommandLine.Usage);
    return 2;
}
TrainerBenchmark.Run(args[0], CommandLine.Parse(args), Console.WriteLine);
return 0;
