using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Messages.Cancel;

public sealed class Endpoint(MessageCancellation cancellation) : Endpoint<Get.Request, MessageResponse>
{
    public override void Configure()
    {
        Post("/agents/{agent_id}/messages/{message_id}/cancel");
        Policies(ApiScopes.MessagesSend);
        Summary(s =>
        {
            s.Summary = "Withdraw a message that has not finished";
            s.Description = "A queued message is never handled; a running one's result is not committed. 200 with the message, " +
                "now canceled; 409 when it had already finished (done, dead or canceled).";
            s.Responses[200] = "The message, canceled.";
            s.Responses[404] = "No such agent or message, or not the caller's.";
            s.Responses[409] = "The message had already finished.";
        });
    }

    public override async Task HandleAsync(Get.Request request, CancellationToken ct)
    {
        var (message, canceled) = await cancellation.CancelAsync(request.AgentId, request.ParsedMessageId, ct);
        if (message is null)
        {
            await Send.ResultAsync(MessageProblems.NotFound());
            return;
        }

        if (!canceled)
        {
            await Send.ResultAsync(ProblemResponses.Problem(StatusCodes.Status409Conflict, $"The message is already {message.Status}."));
            return;
        }

        await Send.OkAsync(MessageResponse.From(message), ct);
    }
}
