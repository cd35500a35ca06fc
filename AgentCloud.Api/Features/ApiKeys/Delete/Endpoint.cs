using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.ApiKeys.Delete;

public sealed class Endpoint(ApiKeyStore keys) : Endpoint<Request>
{
    public override void Configure()
    {
        Delete("/api-keys/{key_id}");
        Policies(ApiScopes.Session);
        Summary(s =>
        {
            s.Summary = "Revoke an API key";
            s.Description = "At once: the next request with it is refused, and a log stream opened with it ends within seconds.";
            s.Responses[204] = "Revoked.";
            s.Responses[404] = "No such key, or not the caller's.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        if (!await keys.DeleteAsync(User.UserId(), request.Id, ct))
        {
            await Send.ResultAsync(ProblemResponses.Problem(StatusCodes.Status404NotFound, "API key not found."));
            return;
        }

        await Send.NoContentAsync(ct);
    }
}
