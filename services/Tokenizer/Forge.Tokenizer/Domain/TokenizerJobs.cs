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

public enum SubmissionStatus { Queued, Exists, Invalid, DatasetVersionUnknown, TokenizerUnknown, TokenizerNotTrained }

/// <summary>
/// What became of a job request: queued (Record is the new job), already there (Record is the job found), or refused
/// (Field names the invalid field; Message says why).
/// </summary>
public sealed record JobSubmission<T>(SubmissionStatus Status, T? Record = null, string? Field = null, string? Message = null) where T : class;

/// <summary>
/// Runs tokenizer training and dataset tokenisation one at a time in the background (each uses every core). Jobs live
/// in the metadata store; on start, jobs left queued or running by a stopped process are run again (their outputs
/// go to the same keys, so a rerun replaces a half-done one). A job a build asked for tells the build when it fails.
/// </summary>
public sealed class TokenizerJobs(TokenizerStore store, IArtifactStore artifacts, IBus bus, TimeProvider clock, ILogger<TokenizerJobs> logger) : BackgroundService
{
    private const string TrainJob = "train";
    private const string TokenizeJob = "tokenize";
    private readonly Channel<(string Kind, string Id)> _queue = Channel.CreateUnbounded<(string, string)>();
    private readonly VersionDocuments _documents = new(artifacts);

    public static TokenizerTrained Trained(TokenizerRecord tokenizer) =>
        new(tokenizer.Id, tokenizer.Spec.Kind, tokenizer.VocabularySize, tokenizer.DatasetVersion, tokenizer.CharactersPerToken);

    public static DatasetTokenized Tokenized(TokenizationRecord tokenization) =>
        new(tokenization.DatasetVersion, tokenization.TokenizerId, tokenization.TrainShards, tokenization.ValidationShards,
            tokenization.TrainTokens, tokenization.ValidationTokens, tokenization.CharactersPerToken ?? 0);

    /// <summary>Records a training job on a known dataset version and queues it; a tokenizer that has the id already is returned as it is.</summary>
    public async Task<JobSubmission<TokenizerRecord>> SubmitTrainingAsync(string tokenizerId, string? datasetVersion, TokenizerSpec spec, string? buildId, CancellationToken cancellationToken)
    {
        if (TokenizerSpecs.Validate(spec) is { } invalid)
            return new(SubmissionStatus.Invalid, Field: invalid.Field, Message: invalid.Message);
        if (!TokenizerIds.IsValid(tokenizerId))
            return new(SubmissionStatus.Invalid, Field: "id", Message: TokenizerIds.Rule);
        if (string.IsNullOrEmpty(datasetVersion))
            return new(SubmissionStatus.Invalid, Field: "datasetVersion", Message: "Name the sealed dataset version to train on, e.g. \"my-dataset@1\".");
        if (await store.DatasetVersions.GetAsync(datasetVersion, cancellationToken) is null)
            return new(SubmissionStatus.DatasetVersionUnknown, Message: $"There is no dataset version '{datasetVersion}'.");
        var record = new TokenizerRecord { Id = tokenizerId, Spec = spec, DatasetVersion = datasetVersion, State = JobState.Queued, CreatedAt = Now(), BuildId = buildId };
        if (!await store.Tokenizers.TryInsertAsync(record, cancellationToken))
            return new(SubmissionStatus.Exists, await store.Tokenizers.GetAsync(tokenizerId, cancellationToken), Message: $"Tokenizer '{tokenizerId}' already exists.");
        _queue.Writer.TryWrite((TrainJob, tokenizerId));
        return new(SubmissionStatus.Queued, record);
    }

    /// <summary>Records an encoding job of a known version with a trained tokenizer and queues it; the job for the pair, when there is one, is returned as it is.</summary>
    public async Task<JobSubmission<TokenizationRecord>> SubmitTokenizationAsync(string? tokenizerId, string? datasetVersion, string? buildId, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(tokenizerId))
            return new(SubmissionStatus.Invalid, Field: "tokenizerId", Message: "Name the tokenizer to encode with.");
        if (string.IsNullOrEmpty(datasetVersion))
            return new(SubmissionStatus.Invalid, Field: "datasetVersion", Message: "Name the sealed dataset version to encode.");
        if (await store.Tokenizers.GetAsync(tokenizerId, cancellationToken) is not { } tokenizer)
            return new(SubmissionStatus.TokenizerUnknown, Message: $"There is no tokenizer '{tokenizerId}'.");
        if (tokenizer.State != JobState.Completed)
            return new(SubmissionStatus.TokenizerNotTrained, Message: $"Tokenizer '{tokenizerId}' is {tokenizer.State}, not trained yet.");
        if (await store.DatasetVersions.GetAsync(datasetVersion, cancellationToken) is null)
            return new(SubmissionStatus.DatasetVersionUnknown, Message: $"There is no dataset version '{datasetVersion}'.");
        var record = new TokenizationRecord
        {
            Id = $"{datasetVersion}/{tokenizerId}",
            DatasetVersion = datasetVersion,
            TokenizerId = tokenizerId,
            State = JobState.Queued,
            CreatedAt = Now(),
            BuildId = buildId,
        };
        if (!await store.Tokenizations.TryInsertAsync(record, cancellationToken))
            return new(SubmissionStatus.Exists, await store.Tokenizations.GetAsync(record.Id, cancellationToken));
        _queue.Writer.TryWrite((TokenizeJob, record.Id));
        return new(SubmissionStatus.Queued, record);
    }

    /// <summary>Queues a failed training again (its build is being retried); false when it was not failed.</summary>
    public async Task<bool> RetryTrainingAsync(TokenizerRecord failed, CancellationToken cancellationToken)
    {
        if (!await store.Tokenizers.TryReplaceAsync(failed with { State = JobState.Queued, Failure = null, FinishedAt = null }, t => t.State == JobState.Failed, cancellationToken))
            return false;
        _queue.Writer.TryWrite((TrainJob, failed.Id));
        return true;
    }

    /// <summary>Queues a failed tokenisation again (its build is being retried); false when it was not failed.</summary>
    public async Task<bool> RetryTokenizationAsync(TokenizationRecord failed, CancellationToken cancellationToken)
    {
        if (!await store.Tokenizations.TryReplaceAsync(failed with { State = JobState.Queued, Failure = null, FinishedAt = null }, t => t.State == JobState.Failed, cancellationToken))
            return false;
        _queue.Writer.TryWrite((TokenizeJob, failed.Id));
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await store.Tokenizers.EnsureIndexAsync(t => t.State, cancellationToken: stoppingToken);
        foreach (var id in await store.Tokenizers.FindIdsAsync(t => t.State == JobState.Queued || t.State == JobState.Running, stoppingToken))
            _queue.Writer.TryWrite((TrainJob, id));
        foreach (var id in await store.Tokenizations.FindIdsAsync(t => t.State == JobState.Queued || t.State == JobState.Running, stoppingToken))
            _queue.Writer.TryWrite((TokenizeJob, id));
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
                await RecordFailureAsync(kind, id, e.Message);
            }
        }
    }

    /// <summary>Marks the job failed and tells its build, if a build asked for it.</summary>
    private async Task RecordFailureAsync(string kind, string id, string reason)
    {
        try
        {
            string? buildId = null;
            if (kind == TrainJob && await store.Tokenizers.GetAsync(id, CancellationToken.None) is { } tokenizer)
            {
                await store.Tokenizers.UpsertAsync(tokenizer with { State = JobState.Failed, Failure = reason, FinishedAt = Now() }, CancellationToken.None);
                buildId = tokenizer.BuildId;
            }
            else if (kind == TokenizeJob && await store.Tokenizations.GetAsync(id, CancellationToken.None) is { } tokenization)
            {
                await store.Tokenizations.UpsertAsync(tokenization with { State = JobState.Failed, Failure = reason, FinishedAt = Now() }, CancellationToken.None);
                buildId = tokenization.BuildId;
            }
            if (buildId is not null)
                await bus.Publish(new BuildStageFailed(buildId, kind == TrainJob ? "tokenizer" : "tokenize", reason), CancellationToken.None);
        }
        catch (Exception e)
        {
            // The runner must go on with the next job; the record stays as it was and is run again on restart.
            logger.LogError(e, "Could not record the failure of tokenizer job {Kind} {Id}", kind, id);
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
        var completed = record with
        {
            State = JobState.Completed,
            FinishedAt = Now(),
            VocabularySize = tokenizer.VocabularySize,
            Merges = merges,
            CharactersPerToken = compression,
            Files = files,
        };
        await store.Tokenizers.UpsertAsync(completed, cancellationToken);
        logger.LogInformation("Trained tokenizer {TokenizerId} ({Kind}, {Vocabulary} tokens) on {DatasetVersion} in {Elapsed}; {Compression:F2} characters per token",
            tokenizerId, record.Spec.Kind, tokenizer.VocabularySize, record.DatasetVersion, watch.Elapsed, compression);
        await bus.Publish(Trained(completed), cancellationToken);
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
        var tokenized = record with
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
        };
        await store.Tokenizations.UpsertAsync(tokenized, cancellationToken);
        await bus.Publish(Tokenized(tokenized), cancellationToken);
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
