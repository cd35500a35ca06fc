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
        var rows = await agents.ListAsync(User.UserId(), beforeId, request.ParsedLimit + 1, ct, User.AllowedAgents());
        var (page, next) = Paging.Page(rows, request.ParsedLimit, row => Cursors.ForAgent(row.Id));
        await Send.OkAsync(new Response([.. page.Select(AgentResponse.From)], next), ct);
    }
}
