using System.Globalization;
using AgentCloud.Api.Features.Agents;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Messages.Send;

public sealed class Endpoint(MessageStore messages) : Endpoint<Request, Response>
{
    public override void Configure()
    {
        Post("/agents/{agent_id}/send");
        Summary(s =>
        {
            s.Summary = "Make one of the caller's agents send a message to an agent address";
            s.Description =
                "The body holds target (agent1… or agent://agent1…), either payload (any JSON value) or text (a string, " +
                "stored as the JSON string payload \"…\"), and optionally session (a UUID). An agent hosted here, whoever owns " +
                "it, gets the message in its inbox at once (delivery \"local\"); any other address gets an outbound message " +
                "that stays queued until remote delivery (delivery \"remote\", listed with this agent's messages). agent_id " +
                "is the sending agent. The send is noted in the sending agent's log.";
            s.Responses[202] = "The message, accepted.";
            s.Responses[404] = "No such agent, or not the caller's.";
            s.Responses[413] = "The payload or the whole body is too large.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var payload = MessageRules.PayloadJson(request.Payload, request.Text);
        if (MessageRules.IsTooLarge(payload))
        {
            await Send.ResultAsync(MessageRules.PayloadTooLarge());
            return;
        }

        var session = MessageRules.ParseSession(request.Session) ?? Guid.NewGuid();
        var sent = await messages.SendFromAgentAsync(User.UserId(), request.AgentId, request.NormalTarget, payload, session,
            MessageRules.CurrentTraceparent(), ct);
        if (sent is null)
        {
            await Send.ResultAsync(AgentProblems.NotFound());
            return;
        }

        var message = sent.Message;
        if (sent.Delivery == Delivery.Remote)
        {
            HttpContext.Response.Headers.Location =
                $"/agents/{request.AgentId.ToString(CultureInfo.InvariantCulture)}/messages/{message.Id:D}";
        }

        await Send.ResponseAsync(
            new Response(message.Id, request.AgentId, message.Sender, message.Target, message.Session, sent.Delivery, message.Status,
                message.TraceId, message.CreatedAt.AsUtc()),
            StatusCodes.Status202Accepted, ct);
    }
}
