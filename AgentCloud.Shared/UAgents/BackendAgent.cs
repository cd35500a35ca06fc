using AgentCloud.Shared.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentCloud.Shared.UAgents;

/// <summary>Gives an agent its uAgents address from its id.</summary>
public interface IAgentAddressing
{
    string AddressFor(int agentId);
}

/// <summary>
/// The backend's own agent: the uAgents identity (index 0) of <c>BACKEND_AGENT_SEED</c>, the root
/// secret every user agent's identity derives from. The API (addresses) and the worker (signing) both
/// read the seed here, and which key signs for an agent is decided here (<see cref="SigningKeyFor"/>).
/// </summary>
public sealed class BackendAgent : IAgentAddressing
{
    public const string Name = "backend-agent";

    private readonly string rootSeed;

    public BackendAgent(string rootSeed)
    {
        this.rootSeed = rootSeed;
        Identity = AgentIdentity.FromSeed(rootSeed);
    }

    public AgentIdentity Identity { get; }

    public string Address => Identity.Address;

    /// <summary>The identity of a user's agent: index 0 of the seed <c>{BACKEND_AGENT_SEED}/agents/{id}</c>, as the design says.</summary>
    public AgentIdentity ForUserAgent(int agentId) => AgentIdentity.ForUserAgent(rootSeed, agentId);

    public string AddressFor(int agentId) => ForUserAgent(agentId).Address;

    /// <summary>
    /// The key that signs for agent <paramref name="agentId"/>: the backend's own for the backend agent (no owner,
    /// the backend's address), else the one derived from the id; null when that key does not derive the agent's
    /// stored <paramref name="address"/>, so nothing is ever signed as someone else.
    /// </summary>
    public AgentIdentity? SigningKeyFor(int agentId, int? userId, string? address)
    {
        var identity = userId is null && address == Address ? Identity : ForUserAgent(agentId);
        return address is null || address == identity.Address ? identity : null;
    }

    public override string ToString() => Address;
}

public static class UAgentsExtensions
{
    /// <summary>
    /// What the API and the worker share of the uAgents protocol: the keys of <c>BACKEND_AGENT_SEED</c> (read at
    /// start, so outside Development a missing or weak seed stops the process) and the endpoint map.
    /// </summary>
    public static TBuilder AddUAgents<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var problem = Secrets.Check(builder.Configuration[Secrets.BackendAgentSeed]);
        var seed = Secrets.Require(builder.Configuration, builder.Environment, Secrets.BackendAgentSeed);
        var generated = string.IsNullOrEmpty(builder.Configuration[Secrets.BackendAgentSeed]);
        builder.Services.AddSingleton(services =>
        {
            if (problem is not null)
            {
                services.GetRequiredService<ILogger<BackendAgent>>().LogWarning(
                    "{Name} {Problem}; Development only: using {What}. Set it in the environment or the .env file",
                    Secrets.BackendAgentSeed, problem,
                    generated ? "a throw-away seed, so agent addresses change at every restart" : "it anyway");
            }

            return new BackendAgent(seed);
        });
        builder.Services.AddSingleton<IAgentAddressing>(services => services.GetRequiredService<BackendAgent>());
        return builder.AddStaticEndpointMap();
    }
}
