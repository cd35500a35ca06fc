using AgentCloud.Shared.Hosting;
using AgentCloud.Shared.UAgents;

namespace AgentCloud.Api.Features.Agents;

/// <summary>Gives an agent its uAgents address from its id (the identity itself never leaves the worker).</summary>
public interface IAgentAddressing
{
    string AddressFor(int agentId);
}

/// <summary>Index 0 of the seed <c>{BACKEND_AGENT_SEED}/agents/{id}</c>, as the design says.</summary>
public sealed class UAgentsAddressing(string rootSeed) : IAgentAddressing
{
    public string AddressFor(int agentId) => AgentIdentity.ForUserAgent(rootSeed, agentId).Address;
}

public static class AgentAddressingExtensions
{
    public static WebApplicationBuilder AddAgentAddressing(this WebApplicationBuilder builder)
    {
        var seed = Secrets.Require(builder.Configuration, builder.Environment, Secrets.BackendAgentSeed);
        builder.Services.AddSingleton<IAgentAddressing>(new UAgentsAddressing(seed));
        return builder;
    }
}
