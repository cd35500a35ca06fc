using System.Globalization;
using System.Text.Json;
using AgentCloud.Api.Features.Agents;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.UAgents;
using FastEndpoints;

namespace AgentCloud.Api.Features.Messages.Send;

public sealed class Endpoint(MessageStore messages, MessageWaiter waiter) : Endpoint<Request, Response>
{
    public override void Configure()
    {
        Post("/agents/{agent_id}/send");
        Policies(ApiScopes.MessagesSend);
        Summary(s =>
        {
            s.Summary = "Make one of the caller's agents send a message to an agent address";
            s.Description =
                "The body holds target (agent1… or agent://agent1…), either payload (any JSON value) or text (a string, " +
                "stored as the JSON string payload \"…\"), and optionally session (a UUID). An agent hosted here, whoever owns " +
                "it, gets the message in its inbox at once (delivery \"local\"); any other address, or one listed in the " +
                "static endpoint map, gets an outbound message that the worker delivers over HTTP as a signed uAgents " +
                "envelope (delivery \"remote\", listed with this agent's messages). agent_id is the sending agent. The send " +
                "is noted in the sending agent's log. With ?wait=N (0–30 seconds) the call waits for the answer: a remote " +
                "target is sent the envelope as a sync request (x-uagents-connection: sync) and its reply envelope's payload " +
                "becomes reply; a local target's reply is what that agent answered. 200 once finished (done or dead), else " +
                "202 with the message as it stands. An address that is not hosted here, not in the static endpoint map, with no " +
                "Almanac configured, is refused (400) and nothing is sent. An idempotency key (header Idempotency-Key, or " +
                "idempotency_key in the body) makes a repeat answer with the first message and send nothing.";
            s.Responses[200] = "The message, finished (with ?wait), with the reply.";
            s.Responses[202] = "The message, accepted.";
            s.Responses[400] = "Invalid request, or a target nobody can reach.";
            s.Responses[404] = "No such agent, or not the caller's.";
            s.Responses[413] = "The payload or the whole body is too large.";
            s.Responses[422] = "The idempotency key was already used for a message to another target.";
            s.Responses[429] = "A quota (messages_per_day, queued_messages_per_agent) is reached: see Retry-After.";
            s.ExampleRequest = new Request { Target = OpenApiExamples.OtherAddress, Payload = OpenApiExamples.Json("\"hi\"") };
            s.ResponseExamples[200] = OpenApiExamples.Sent("done");
            s.ResponseExamples[202] = OpenApiExamples.Sent("queued");
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
            MessageRules.CurrentTraceparent(), request.ClientKey, waitForReply: request.WaitTime is not null, ct);
        switch (sent.Outcome)
        {
            case SendOutcome.NoSuchAgent:
                await Send.ResultAsync(AgentProblems.NotFound());
                return;
            case SendOutcome.KeyReused:
                await Send.ResultAsync(MessageProblems.IdempotencyKeyReused());
                return;
            case SendOutcome.Unresolvable:
                await Send.ResultAsync(MessageProblems.Unresolvable(request.NormalTarget));
                return;
        }

        var message = sent.Message!;
        if (sent.Delivery == Delivery.Remote)
        {
            HttpContext.Response.Headers.Location =
                $"/agents/{request.AgentId.ToString(CultureInfo.InvariantCulture)}/messages/{message.Id:D}";
        }

        if (request.WaitTime is { } wait)
        {
            // Remote: the outbound row finishes with the peer's answer; local: the target's inbound message with its reply.
            message = await waiter.WaitUntilFinishedAsync(message, wait, ct);
        }

        var status = request.WaitTime is not null && MessageStatus.IsFinal(message.Status)
            ? StatusCodes.Status200OK
            : StatusCodes.Status202Accepted;
        await Send.ResponseAsync(
            new Response(message.Id, request.AgentId, message.Sender, message.Target, message.Session, sent.Delivery, message.Status,
                message.TraceId, message.CreatedAt.AsUtc(), Parse(message.Reply), message.Error, message.DeliveredTo),
            status, ct);
    }

    private static JsonElement? Parse(string? json)
    {
        if (json is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
