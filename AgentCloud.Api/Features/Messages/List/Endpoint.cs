using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Messages.List;

public sealed class Endpoint(MessageStore messages) : Endpoint<Request, Response>
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
        var (page, next) = Paging.Page(await messages.ListAsync(request.ToQuery(), ct), request.ParsedLimit,
            row => Cursors.ForMessage(row.Seq));
        await Send.OkAsync(new Response([.. page.Select(MessageResponse.From)], next), ct);
    }
}
