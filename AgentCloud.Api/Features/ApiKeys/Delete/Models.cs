using FastEndpoints;

namespace AgentCloud.Api.Features.ApiKeys.Delete;

public sealed class Request
{
    [BindFrom("key_id")]
    public int Id { get; init; }
}
