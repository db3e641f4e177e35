using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using Forge.Contracts;
using Forge.Storage.Artifacts;
using Forge.Tokenization;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forge.Tokenizer.Domain;

/// <summary>
/// Runs tokenizer training and dataset tokenisation one at a time in the background (each uses every core). Jobs live
/// in the metadata store; on start, jobs left queued or running by a stopped process are run again (their outputs
/// go to the same keys, so a rerun replaces a half-done one).
/// </summary>
public sealed class TokenizerJobs(TokenizerStore store, IArtifactStore artifacts, IBus bus, TimeProvider clock, ILogger<TokenizerJobs> logger) : BackgroundService
{
    private const string TrainJob = "train";
    private const string TokenizeJob = "tokenize";
    private readonly Channel<(string Kind, string Id)> _queue = Channel.CreateUnbounded<(string, string)>();
    private readonly VersionDocuments _documents = new(artifacts);

    public void EnqueueTraining(string tokenizerId) => _queue.Writer.TryWrite((TrainJob, tokenizerId));

    public void EnqueueTokenization(string id) => _queue.Writer.TryWrite((TokenizeJob, id));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await store.Tokenizers.EnsureIndexAsync(t => t.State, cancellationToken: stoppingToken);
        foreach (var id in await store.Tokenizers.FindIdsAsync(t => t.State == JobState.Queued || t.State == JobState.Running, stoppingToken))
            EnqueueTraining(id);
        foreach (var id in await store.Tokenizations.FindIdsAsync(t => t.State == JobState.Queued || t.State == JobState.Running, stoppingToken))
            EnqueueTokenization(id);
        await foreach (var (kind, id) in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                if (kind == TrainJob)
                    await TrainAsync(id, stoppingToken);
                else
                    await TokenizeAsync(id, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "Tokenizer job {Kind} {Id} failed", kind, id);
                if (kind == TrainJob && await store.Tokenizers.GetAsync(id, CancellationToken.None) is { } tokenizer)
                    await store.Tokenizers.UpsertAsync(tokenizer with { State = JobState.Failed, Failure = e.Message, FinishedAt = Now() }, CancellationToken.None);
                else if (kind == TokenizeJob && await store.Tokenizations.GetAsync(id, CancellationToken.None) is { } tokenization)
                    await store.Tokenizations.UpsertAsync(tokenization with { State = JobState.Failed, Failure = e.Message, FinishedAt = Now() }, CancellationToken.None);
            }
        }
    }

    private async Task TrainAsync(string tokenizerId, CancellationToken cancellationToken)
    {
        if (await store.Tokenizers.GetAsync(tokenizerId, cancellationToken) is not { State: JobState.Queued or JobState.Running } record)
            return;
        await store.Tokenizers.UpsertAsync(record = record with { State = JobState.Running }, cancellationToken);
        var version = await store.DatasetVersions.GetAsync(record.DatasetVersion!, cancellationToken)
            ?? throw new InvalidOperationException($"Dataset version {record.DatasetVersion} is not known.");
        var manifest = await _documents.ManifestAsync(version, cancellationToken);
        var watch = Stopwatch.StartNew();
        ITokenizer tokenizer;
        var files = new Dictionary<string, string>();
        if (record.Spec.Kind == "char")
        {
            var characters = new HashSet<Rune>();
            await foreach (var document in _documents.ReadAsync(manifest, cancellationToken))
            {
                if (!document.Validation)
                {
                    foreach (var rune in document.Text.EnumerateRunes())
                        characters.Add(rune);
                }
            }
            var chars = new CharTokenizer(characters);
            tokenizer = chars;
            files["char-tokenizer.json"] = await PutAsync(tokenizerId, "char-tokenizer.json", chars.Write, cancellationToken);
        }
        else
        {
            var trainer = new BpeTrainer(TokenizerSpecs.Options(record.Spec));
            await trainer.AddDocumentsAsync(TrainDocuments(manifest, cancellationToken), cancellationToken);
            var bpe = trainer.Train(cancellationToken);
            tokenizer = bpe;
            files["tokenizer.json"] = await PutAsync(tokenizerId, "tokenizer.json", stream => TokenizerFiles.WriteHuggingFace(bpe, stream), cancellationToken);
            var folder = Directory.CreateTempSubdirectory("forge-tokenizer-");
            try
            {
                TokenizerFiles.WriteGpt2(bpe, Path.Combine(folder.FullName, "vocab.json"), Path.Combine(folder.FullName, "merges.txt"));
                foreach (var name in new[] { "vocab.json", "merges.txt" })
                {
                    await using var file = File.OpenRead(Path.Combine(folder.FullName, name));
                    files[name] = $"tokenizers/{tokenizerId}/{name}";
                    await artifacts.PutAsync(files[name], file, cancellationToken);
                }
            }
            finally
            {
                folder.Delete(recursive: true);
            }
        }
        var compression = await CompressionAsync(tokenizer, manifest, cancellationToken);
        var merges = tokenizer is BpeTokenizer trained ? trained.MergeIds.Count : 0;
        await store.Tokenizers.UpsertAsync(record with
        {
            State = JobState.Completed,
            FinishedAt = Now(),
            VocabularySize = tokenizer.VocabularySize,
            Merges = merges,
            CharactersPerToken = compression,
            Files = files,
        }, cancellationToken);
        logger.LogInformation("Trained tokenizer {TokenizerId} ({Kind}, {Vocabulary} tokens) on {DatasetVersion} in {Elapsed}; {Compression:F2} characters per token",
            tokenizerId, record.Spec.Kind, tokenizer.VocabularySize, record.DatasetVersion, watch.Elapsed, compression);
        await bus.Publish(new TokenizerTrained(tokenizerId, record.Spec.Kind, tokenizer.VocabularySize, record.DatasetVersion, compression), cancellationToken);
    }

    private async IAsyncEnumerable<string> TrainDocuments(Forge.Datasets.DatasetManifest manifest, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var document in _documents.ReadAsync(manifest, cancellationToken))
        {
            if (!document.Validation)
                yield return document.Text;
        }
    }

    /// <summary>Characters per token over (up to 4 MB of) the training documents.</summary>
    private async Task<double> CompressionAsync(ITokenizer tokenizer, Forge.Datasets.DatasetManifest manifest, CancellationToken cancellationToken)
    {
        long characters = 0, tokens = 0;
        var ids = new List<int>();
        await foreach (var text in TrainDocuments(manifest, cancellationToken))
        {
            ids.Clear();
            tokenizer.Encode(text, ids);
            characters += text.Length;
            tokens += ids.Count;
            if (characters > 4_000_000)
                break;
        }
        return tokens == 0 ? 0 : (double)characters / tokens;
    }

    private async Task TokenizeAsync(string id, CancellationToken cancellationToken)
    {
        if (await store.Tokenizations.GetAsync(id, cancellationToken) is not { State: JobState.Queued or JobState.Running } record)
            return;
        var version = await store.DatasetVersions.GetAsync(record.DatasetVersion, cancellationToken)
            ?? throw new InvalidOperationException($"Dataset version {record.DatasetVersion} is not known.");
        var tokenizerRecord = await store.Tokenizers.GetAsync(record.TokenizerId, cancellationToken)
            ?? throw new InvalidOperationException($"Tokenizer {record.TokenizerId} is not known.");
        var tokenizer = await TokenizerLoader.LoadAsync(artifacts, tokenizerRecord, cancellationToken);
        var manifest = await _documents.ManifestAsync(version, cancellationToken);
        await store.Tokenizations.UpsertAsync(record = record with { State = JobState.Running, DocumentsTotal = manifest.Documents }, cancellationToken);

        var separator = TokenizerLoader.SeparatorId(tokenizer);
        await using var trainFile = TempFile();
        await using var validationFile = TempFile();
        using var train = new TokenShardWriter(trainFile, tokenizer.VocabularySize, separator, record.TokenizerId);
        using var validation = new TokenShardWriter(validationFile, tokenizer.VocabularySize, separator, record.TokenizerId);
        long characters = 0, done = 0;
        var progress = Stopwatch.StartNew();
        var batch = new List<VersionDocument>(512);
        async Task FlushAsync()
        {
            var encoded = new int[batch.Count][];
            Parallel.For(0, batch.Count, i => encoded[i] = tokenizer.Encode(batch[i].Text));
            for (var i = 0; i < batch.Count; i++)
                (batch[i].Validation ? validation : train).AppendDocument(encoded[i]);
            done += batch.Count;
            batch.Clear();
            if (progress.Elapsed > TimeSpan.FromSeconds(1))
            {
                await store.Tokenizations.UpsertAsync(record with { DocumentsDone = done }, cancellationToken);
                progress.Restart();
            }
        }
        await foreach (var document in _documents.ReadAsync(manifest, cancellationToken))
        {
            characters += document.Text.Length;
            batch.Add(document);
            if (batch.Count == batch.Capacity)
                await FlushAsync();
        }
        await FlushAsync();
        var trainHeader = train.Complete();
        var validationHeader = validation.Complete();

        var prefix = $"tokens/{record.DatasetVersion}/{record.TokenizerId}";
        var trainKeys = new List<string> { $"{prefix}/train-00000.bin" };
        trainFile.Position = 0;
        await artifacts.PutAsync(trainKeys[0], trainFile, cancellationToken);
        var validationKeys = new List<string>();
        if (validationHeader.DocumentCount > 0)
        {
            validationKeys.Add($"{prefix}/validation-00000.bin");
            validationFile.Position = 0;
            await artifacts.PutAsync(validationKeys[0], validationFile, cancellationToken);
        }
        var tokens = trainHeader.TokenCount + validationHeader.TokenCount;
        var compression = tokens == 0 ? 0 : (double)characters / tokens;
        await store.Tokenizations.UpsertAsync(record with
        {
            State = JobState.Completed,
            FinishedAt = Now(),
            DocumentsDone = done,
            TrainShards = trainKeys,
            ValidationShards = validationKeys,
            TrainTokens = trainHeader.TokenCount,
            ValidationTokens = validationHeader.TokenCount,
            TrainDocuments = trainHeader.DocumentCount,
            ValidationDocuments = validationHeader.DocumentCount,
            CharactersPerToken = compression,
        }, cancellationToken);
        await bus.Publish(new DatasetTokenized(record.DatasetVersion, record.TokenizerId, trainKeys, validationKeys, trainHeader.TokenCount, validationHeader.TokenCount, compression), cancellationToken);
    }

    private async Task<string> PutAsync(string tokenizerId, string name, Action<Stream> write, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        write(buffer);
        buffer.Position = 0;
        var key = $"tokenizers/{tokenizerId}/{name}";
        await artifacts.PutAsync(key, buffer, cancellationToken);
        return key;
    }

    private static FileStream TempFile() =>
        new(Path.GetTempFileName(), FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;
}
