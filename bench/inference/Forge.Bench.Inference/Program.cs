using Forge.Bench.Inference;

// dotnet run -c Release --project bench/inference/Forge.Bench.Inference -- [--repeats 3] [--streams 8] [--threads 2] [--new 256] [--prompt 64]
//     [--layers 6] [--heads 6] [--width 384] [--context 512] [--vocabulary 4096]
return InferenceBenchmark.Run(args);
