namespace Forge.ServiceDefaults;

/// <summary>One line of GET /api/status: a service, where it answers and how healthy it is.</summary>
public sealed record ServiceStatus(string Service, string Address, string Health);

public static class ForgeServices
{
    /// <summary>Every Forge service, by its route name (/api/{name}/...).</summary>
    public static readonly IReadOnlyList<string> All = ["ingestion", "cleaning", "tokenizer", "trainer", "evaluator", "feedback", "inference", "orchestrator"];
}
