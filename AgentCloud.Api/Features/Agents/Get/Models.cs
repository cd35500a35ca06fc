using FastEndpoints;

namespace AgentCloud.Api.Features.Agents.Get;

public sealed class Request
{
    [BindFrom("agent_id")]
    public int AgentId { get; init; }
}
