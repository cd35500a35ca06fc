using AgentCloud.Api.Features.Agents;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Logs.List;

public sealed class Endpoint(AgentStore agents, LogStore logs) : Endpoint<Request, Response>
{
    public override void Configure()
    {
        Get("/agents/{agent_id}/logs");
        Policies(ApiScopes.AgentsRead);
        Summary(s =>
        {
            s.Summary = "An agent's logs, newest first, a page at a time";
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
        var rows = await logs.ReadAsync(query, ct);
        var page = rows.Take(query.Take - 1).Select(LogResponse.From).ToList();
        var next = rows.Count >= query.Take ? Cursors.ForLog(rows[query.Take - 2].Timestamp, rows[query.Take - 2].Id) : null;
        await Send.OkAsync(new Response(page, next), ct);
    }
}
