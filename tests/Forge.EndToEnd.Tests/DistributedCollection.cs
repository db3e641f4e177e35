namespace Forge.EndToEnd.Tests;

/// <summary>One set of distributed service processes, shared by the test classes that need them.</summary>
[CollectionDefinition(Name)]
public sealed class DistributedCollection : ICollectionFixture<DistributedForge>
{
    public const string Name = "distributed";
}
