using System.Globalization;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.ApiKeys.Create;

public sealed class Endpoint(ApiKeyStore keys) : Endpoint<Request, Response>
{
    public override void Configure()
    {
        Post("/api-keys");
        Policies(ApiScopes.Session);
        Summary(s =>
        {
            s.Summary = "Make an API key for a program";
            s.Description =
                "The answer holds the key (ak_…) once; only its hash is kept. Present it as Authorization: Bearer ak_… or " +
                "X-API-Key: ak_… on every route its scopes allow: agents:read (agents, logs, messages to read), " +
                "agents:write (create, change, delete agents; delete messages), messages:send (send messages). " +
                "With agent_ids, only those agents are reachable and no agent can be created.";
            s.Responses[201] = "The key, shown this once.";
            s.Responses[403] = "The caller used an API key: keys are made with a login token.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var userId = User.UserId();
        var agentIds = request.AgentIds?.Distinct().Order().ToArray();
        if (agentIds is not null && (await keys.NotOwnedAsync(userId, agentIds, ct)) is { Count: > 0 } notOwned)
        {
            AddError(r => r.AgentIds, $"agent_ids: agent {notOwned[0].ToString(CultureInfo.InvariantCulture)} is not one of yours.");
            await Send.ErrorsAsync(cancellation: ct);
            return;
        }

        var key = ApiKeyStore.NewKey();
        var row = await keys.CreateAsync(userId, request.Name!.Trim(), key, [.. request.Scopes!.Distinct()], agentIds,
            request.ExpiresAt?.UtcDateTime, ct);
        HttpContext.Response.Headers.Location = "/api-keys";
        await Send.ResponseAsync(new Response(row.Id, row.Name, key, row.KeyPrefix, row.Scopes, row.AgentIds, row.ExpiresAt.AsUtc(),
            row.CreatedAt.AsUtc()), StatusCodes.Status201Created, ct);
    }
}
