namespace Forge.ServiceDefaults;

/// <summary>A domain refusal that reaches the pipeline as an exception and leaves as a problem with this status.</summary>
public class ProblemException(int status, string title, string detail) : Exception(detail)
{
    public int Status { get; } = status;
    public string Title { get; } = title;
}
