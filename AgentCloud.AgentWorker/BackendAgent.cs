using AgentCloud.Shared.Hosting;
using AgentCloud.Shared.UAgents;

namespace AgentCloud.AgentWorker;

/// <summary>
/// The backend's own agent: the uAgents identity (index 0) of <c>BACKEND_AGENT_SEED</c>, the root
/// secret every user agent's identity derives from.
/// </summary>
public sealed class BackendAgent
{
    public const string Name = "backend-agent";

    private readonly string _rootSeed;

    public BackendAgent(IConfiguration configuration, IHostEnvironment environment, ILogger<BackendAgent> logger)
    {
        var problem = Secrets.Check(configuration[Secrets.BackendAgentSeed]);
        // Throws outside Development, so a worker with a missing or weak seed never starts.
        _rootSeed = Secrets.Require(configuration, environment, Secrets.BackendAgentSeed);
        if (problem is not null)
        {
            logger.LogWarning(
                "{Name} {Problem}; Development only: using {What}. Set it in the environment or the .env file",
                Secrets.BackendAgentSeed, problem,
                string.IsNullOrEmpty(configuration[Secrets.BackendAgentSeed])
                    ? "a throw-away seed, so agent addresses change at every restart"
                    : "it anyway");
        }

        Identity = AgentIdentity.FromSeed(_rootSeed);
    }

    public AgentIdentity Identity { get; }

    public string Address => Identity.Address;

    /// <summary>The identity of a user's agent, derived from the root seed and the agent's id.</summary>
    public AgentIdentity ForUserAgent(int agentId) => AgentIdentity.ForUserAgent(_rootSeed, agentId);

    public override string ToString() => Address;
}
