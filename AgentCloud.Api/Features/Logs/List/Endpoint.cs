using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Logs.List;

public sealed class Endpoint(LogStore logs) : Endpoint<Request, Response>
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
        var (page, next) = Paging.Page(await logs.ReadAsync(request.ToQuery(), ct), request.ParsedLimit,
            row => Cursors.ForLog(row.Timestamp, row.Id));
        await Send.OkAsync(new Response([.. page.Select(LogResponse.From)], next), ct);
    }
}
