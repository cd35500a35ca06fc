namespace AgentCloud.Api.Features.Agents.Delete;

public sealed class Request
{
    public int Id { get; init; }
}
