using Forge.Contracts;
using Forge.Tokenizer.Domain;
using MassTransit;

namespace Forge.Tokenizer.Consumers;

/// <summary>Remembers each sealed dataset version and where its manifest is, so tokenizers can be trained on it by id.</summary>
public sealed class RecordSealedVersionConsumer(TokenizerStore store) : IConsumer<DatasetVersionSealed>
{
    public Task Consume(ConsumeContext<DatasetVersionSealed> context)
    {
        var message = context.Message;
        return store.DatasetVersions.UpsertAsync(new KnownDatasetVersion
        {
            Id = message.VersionId,
            DatasetId = message.DatasetId,
            Number = message.Number,
            ManifestKey = message.ManifestKey,
            Documents = message.Documents,
            ValidationFraction = message.ValidationFraction,
        }, context.CancellationToken);
    }
}
