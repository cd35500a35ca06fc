using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Agents.List;

public sealed class Endpoint(AgentStore agents) : Endpoint<Request, Response>
{
    public override void Configure()
    {
        Get("/agents");
        Policies(ApiScopes.AgentsRead);
        Summary(s => s.Summary = "The caller's agents, newest first, a page at a time");
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        int? beforeId = Cursors.TryReadAgent(request.Cursor, out var lastId) ? lastId : null;
        var limit = request.ParsedLimit;

        // One row more than the page tells whether another page follows.
        var rows = await agents.ListAsync(User.UserId(), beforeId, limit + 1, ct, User.AllowedAgents());
        var page = rows.Take(limit).Select(AgentResponse.From).ToList();
        var next = rows.Count > limit ? Cursors.ForAgent(page[^1].Id) : null;
        await Send.OkAsync(new Response(page, next), ct);
    }
}
