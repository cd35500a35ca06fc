namespace AgentCloud.Api.Features.ApiKeys.Delete;

public sealed class Request
{
    public int Id { get; init; }
}
