using System.CommandLine;
using System.Text.Json;
using Forge.Evaluator.Domain;
using Forge.Metrics;

namespace Forge.Cli;

/// <summary>
/// <c>forge eval bleu|chrf|rouge</c>: scores a file of outputs against reference files on this machine, one segment per
/// line, and prints the score as the evaluator's API returns it. Bad input is reported on stderr with exit code 1.
/// </summary>
public static class EvalCommand
{
    private static readonly JsonSerializerOptions PrintedJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static Command Create()
    {
        var command = new Command("eval", "Scores outputs against references locally: BLEU and chrF as sacrebleu computes them, ROUGE as rouge-score does");
        command.Subcommands.Add(CreateBleu());
        command.Subcommands.Add(CreateChrF());
        command.Subcommands.Add(CreateRouge());
        return command;
    }

    private static Command CreateBleu()
    {
        var files = new SegmentFiles();
        var lowercase = new Option<bool>("--lowercase") { Description = "Lowercase hypotheses and references first" };
        var tokenize = new Option<string>("--tokenize") { Description = "sacrebleu's tokenizer: 13a (default) or none", DefaultValueFactory = _ => "13a" };
        tokenize.AcceptOnlyFromAmong([.. MetricOptionNames.Tokenizers]);
        var command = new Command("bleu", "Corpus BLEU, with its n-gram statistics, precisions and brevity penalty") { files.Hypotheses, files.References, lowercase, tokenize };
        command.SetAction(parse => files.Score(parse, "bleu", segments => Bleu.Corpus(segments.Hypotheses, segments.ReferenceSets, new BleuOptions
        {
            Lowercase = parse.GetValue(lowercase),
            Tokenizer = MetricOptionNames.Tokenizer(parse.GetValue(tokenize)!)!.Value,
        })));
        return command;
    }

    private static Command CreateChrF()
    {
        var files = new SegmentFiles();
        var lowercase = new Option<bool>("--lowercase") { Description = "Lowercase hypotheses and references first" };
        var charOrder = Order("--char-order", "Character n-gram order", ChrFOptions.Default.CharOrder);
        var wordOrder = Order("--word-order", "Word n-gram order: 2 gives chrF++", ChrFOptions.Default.WordOrder);
        var beta = Order("--beta", "How many times recall weighs more than precision", ChrFOptions.Default.Beta);
        var command = new Command("chrf", "Corpus chrF (chrF++ with --word-order 2)") { files.Hypotheses, files.References, lowercase, charOrder, wordOrder, beta };
        command.SetAction(parse =>
        {
            var options = new ChrFOptions
            {
                CharOrder = parse.GetValue(charOrder),
                WordOrder = parse.GetValue(wordOrder),
                Beta = parse.GetValue(beta),
                Lowercase = parse.GetValue(lowercase),
            };
            if (options.CharOrder + options.WordOrder == 0)
            {
                parse.InvocationConfiguration.Error.WriteLine("forge eval chrf: --char-order and --word-order cannot both be 0");
                return 1;
            }
            return files.Score(parse, "chrf", segments => ChrF.Corpus(segments.Hypotheses, segments.ReferenceSets, options));
        });
        return command;
    }

    private static Command CreateRouge()
    {
        var files = new SegmentFiles();
        var stem = new Option<bool>("--stem") { Description = "Porter-stem tokens longer than three characters (rouge-score's use_stemmer)" };
        var types = new Option<string>("--types")
        {
            Description = "Comma-separated ROUGE types: rouge1 to rouge9, rougeL, rougeLsum",
            DefaultValueFactory = _ => string.Join(',', RougeOptions.Default.Types),
        };
        types.Validators.Add(result =>
        {
            if (MetricOptionNames.CheckRougeTypes(SplitTypes(result.GetValueOrDefault<string>())) is { } problem)
                result.AddError($"--types: {problem.Message}.");
        });
        var command = new Command("rouge", "ROUGE per segment (the best reference counts), averaged over the segments") { files.Hypotheses, files.References, stem, types };
        command.SetAction(parse => files.Score(parse, "rouge", segments => CorpusRouge.Score(segments.Hypotheses, segments.ReferenceSets, new RougeOptions
        {
            Types = SplitTypes(parse.GetValue(types)),
            UseStemmer = parse.GetValue(stem),
        })));
        return command;
    }

    private static Option<int> Order(string name, string description, int defaultValue)
    {
        var option = new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 0 or > 20)
                result.AddError($"{name} must be from 0 to 20.");
        });
        return option;
    }

    private static List<string> SplitTypes(string? types) =>
        (types ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();

    /// <summary>The --hyp and --ref options every metric takes, and reading them into segments.</summary>
    private sealed class SegmentFiles
    {
        public Option<string> Hypotheses { get; } = new("--hyp") { Description = "System outputs, one segment per line", Required = true };

        public Option<string[]> References { get; } = new("--ref")
        {
            Description = "References, one segment per line, parallel to --hyp; repeat for more references per segment",
            Required = true,
            Arity = ArgumentArity.OneOrMore,
        };

        public int Score<TScore>(ParseResult parse, string metric, Func<Segments, TScore> score)
        {
            var (segments, problem) = Read(parse.GetValue(Hypotheses)!, parse.GetValue(References)!);
            if (problem is not null)
            {
                parse.InvocationConfiguration.Error.WriteLine($"forge eval {metric}: {problem}");
                return 1;
            }
            parse.InvocationConfiguration.Output.WriteLine(JsonSerializer.Serialize(score(segments!), PrintedJson));
            return 0;
        }

        private static (Segments? Segments, string? Problem) Read(string hypothesisFile, string[] referenceFiles)
        {
            foreach (var file in referenceFiles.Prepend(hypothesisFile))
            {
                if (!File.Exists(file))
                    return (null, $"no such file: {file}");
            }
            var hypotheses = File.ReadAllLines(hypothesisFile);
            if (hypotheses.Length == 0)
                return (null, $"{hypothesisFile} is empty: it should hold one output per line");
            var referenceSets = new List<IReadOnlyList<string>>(referenceFiles.Length);
            foreach (var file in referenceFiles)
            {
                var references = File.ReadAllLines(file);
                if (references.Length != hypotheses.Length)
                    return (null, $"{file} has {references.Length} lines but {hypothesisFile} has {hypotheses.Length}; references must be parallel to the outputs");
                referenceSets.Add(references);
            }
            for (var line = 0; line < hypotheses.Length; line++)
            {
                if (referenceSets.All(set => set[line].Length == 0))
                    return (null, $"line {line + 1} has no non-empty reference in any --ref file");
            }
            return (new Segments(hypotheses, referenceSets), null);
        }
    }
}
