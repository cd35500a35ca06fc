using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Agents.Delete;

public sealed class Endpoint(AgentStore agents) : Endpoint<Request>
{
    public override void Configure()
    {
        Delete("/agents/{agent_id}");
        Policies(ApiScopes.AgentsWrite);
        Summary(s =>
        {
            s.Summary = "Delete an agent and its logs";
            s.Responses[204] = "Deleted.";
            s.Responses[404] = "No such agent, or not the caller's.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        if (!await agents.DeleteAsync(User.UserId(), request.AgentId, ct))
        {
            await Send.ResultAsync(AgentProblems.NotFound());
            return;
        }

        await Send.NoContentAsync(ct);
    }
}
