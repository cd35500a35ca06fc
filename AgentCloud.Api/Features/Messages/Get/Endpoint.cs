using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Messages.Get;

public sealed class Endpoint(MessageStore messages) : Endpoint<Request, MessageResponse>
{
    public override void Configure()
    {
        Get("/agents/{agent_id}/messages/{message_id}");
        Policies(ApiScopes.AgentsRead);
        Summary(s =>
        {
            s.Summary = "One message of one of the caller's agents";
            s.Responses[404] = "No such agent or message, or not the caller's.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var message = await messages.FindAsync(request.AgentId, request.ParsedMessageId, ct);
        if (message is null)
        {
            await Send.ResultAsync(MessageProblems.NotFound());
            return;
        }

        await Send.OkAsync(MessageResponse.From(message), ct);
    }
}
