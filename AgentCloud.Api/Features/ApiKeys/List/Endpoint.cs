using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.ApiKeys.List;

public sealed class Endpoint(ApiKeyStore keys) : EndpointWithoutRequest<IReadOnlyList<ApiKeyResponse>>
{
    public override void Configure()
    {
        Get("/api-keys");
        Policies(ApiScopes.Session);
        Summary(s => s.Summary = "The caller's API keys (their prefixes, never the keys)");
    }

    public override async Task HandleAsync(CancellationToken ct) =>
        await Send.OkAsync([.. (await keys.ListAsync(User.UserId(), ct)).Select(ApiKeyResponse.From)], ct);
}
