using AgentCloud.Api.Features.Agents;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Messages.List;

public sealed class Endpoint(AgentStore agents, MessageStore messages) : Endpoint<Request, Response>
{
    public override void Configure()
    {
        Get("/agents/{agent_id}/messages");
        Policies(ApiScopes.AgentsRead);
        Summary(s =>
        {
            s.Summary = "An agent's messages (its inbox and what waits for remote delivery), newest first, a page at a time";
            s.Responses[404] = "No such agent, or not the caller's.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        if (!await agents.ExistsAsync(User.UserId(), request.AgentId, ct))
        {
            await Send.ResultAsync(AgentProblems.NotFound());
            return;
        }

        var query = request.ToQuery();
        var rows = await messages.ListAsync(query, ct);
        var page = rows.Take(query.Take - 1).ToList();
        var next = rows.Count >= query.Take ? Cursors.ForMessage(page[^1].Seq) : null;
        await Send.OkAsync(new Response(page.Select(MessageResponse.From).ToList(), next), ct);
    }
}
