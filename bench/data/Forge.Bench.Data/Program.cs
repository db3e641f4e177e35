using Forge.Bench.Data;

return args switch
{
    ["clean", var corpus, ..] => await CleaningBenchmark.RunAsync(corpus, args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3),
    ["steps", var corpus] => await StepProfile.RunAsync(corpus),
    ["ingest", ..] => await IngestionBenchmark.RunAsync(args.Length > 1 ? long.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 512),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage:
          dotnet run -c Release --project bench/data/Forge.Bench.Data -- clean <corpus.txt> [repeats]
              cleaning throughput, full pipeline (normalise, quality, PII, exact + MinHash dedup), one core
          dotnet run -c Release --project bench/data/Forge.Bench.Data -- ingest [megabytes]
              ingestion over HTTP on loopback into the artifact store: NDJSON stream and a .txt upload of that size,
              with the peak memory of the process while it runs
        """);
    return 2;
}
