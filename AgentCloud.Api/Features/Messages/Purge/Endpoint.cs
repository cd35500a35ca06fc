using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Messages.Purge;

public sealed class Endpoint(MessageStore messages) : Endpoint<Request, Response>
{
    public override void Configure()
    {
        Delete("/agents/{agent_id}/messages");
        Policies(ApiScopes.AgentsWrite);
        Summary(s =>
        {
            s.Summary = "Delete all of an agent's messages in one status, e.g. ?status=queued to drop a flooded queue";
            s.Description = "Both directions (inbox and outbox). Messages a worker is handling are fenced as for a single delete.";
            s.Responses[200] = "How many messages were deleted.";
            s.Responses[404] = "No such agent, or not the caller's.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        await Send.OkAsync(new Response(await messages.PurgeAsync(request.AgentId, request.Status!, ct)), ct);
    }
}
