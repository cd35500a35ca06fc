namespace AgentCloud.AgentWorker;

/// <summary>Tunables of the agent worker, bound from the <c>AgentWorker</c> configuration section.</summary>
public sealed class AgentWorkerOptions
{
    public const string SectionName = "AgentWorker";

    /// <summary>How long to keep trying at start while PostgreSQL does not accept connections yet.</summary>
    public TimeSpan DatabaseStartupTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
