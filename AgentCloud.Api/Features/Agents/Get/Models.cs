namespace AgentCloud.Api.Features.Agents.Get;

public sealed class Request
{
    public int Id { get; init; }
}
