using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Messages.Delete;

public sealed class Endpoint(MessageStore messages) : Endpoint<Get.Request>
{
    public override void Configure()
    {
        Delete("/agents/{agent_id}/messages/{message_id}");
        Policies(ApiScopes.AgentsWrite);
        Summary(s =>
        {
            s.Summary = "Delete one message of one of the caller's agents";
            s.Description =
                "Whatever its status. A message a worker is handling right now is deleted too: that handling then commits " +
                "nothing (no reply is stored or sent on), though a delivery already on the wire cannot be called back.";
            s.Responses[204] = "Deleted.";
            s.Responses[404] = "No such agent or message, or not the caller's.";
        });
    }

    public override async Task HandleAsync(Get.Request request, CancellationToken ct)
    {
        if (!await messages.DeleteAsync(request.AgentId, request.ParsedMessageId, ct))
        {
            await Send.ResultAsync(MessageProblems.NotFound());
            return;
        }

        await Send.NoContentAsync(ct);
    }
}
