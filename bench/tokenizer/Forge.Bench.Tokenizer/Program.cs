using Forge.Bench.Tokenizer;

// Forge tokenizer benchmarks. Each command measures both sides in the same run and prints the ratio.
//   train <corpus> [repeats]             our trainer vs Hugging Face tokenizers (npm, Rust): time, merges, compression
//   encode <corpus> [vocab] [repeats]    our encoder vs Microsoft.ML.Tokenizers, same vocab and merges: MB/s, agreement
//   make-corpus <output> [bytes]         the >= 10 MB corpus: tinyshakespeare + the .NET reference XML docs
return args switch
{
    ["train", var corpus, .. var rest] => TrainingBenchmark.Run(corpus, rest is [var r, ..] ? int.Parse(r) : 3),
    ["encode", var corpus, .. var rest] => EncodingBenchmark.Run(corpus, rest is [var v, ..] ? int.Parse(v) : 8192, rest is [_, var r, ..] ? int.Parse(r) : 5),
    ["make-corpus", var output, .. var rest] => BenchmarkCorpus.Write(output, rest is [var b, ..] ? long.Parse(b) : 12_000_000),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: train <corpus> [repeats] | encode <corpus> [vocab] [repeats] | make-corpus <output> [bytes]");
    return 2;
}
