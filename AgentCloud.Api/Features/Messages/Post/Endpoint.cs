using System.Globalization;
using AgentCloud.Api.Features.Agents;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Messaging;
using FastEndpoints;

namespace AgentCloud.Api.Features.Messages.Post;

public sealed class Endpoint(MessageStore messages, MessageWaiter waiter, Events.MessageEventStream stream, Events.HeldStreams streams)
    : Endpoint<Request, MessageResponse>
{
    public override void Configure()
    {
        Post("/agents/{agent_id}/messages");
        Policies(ApiScopes.MessagesSend);
        Summary(s =>
        {
            s.Summary = "Send a message to one of the caller's agents";
            s.Description =
                "The body holds either payload (any JSON value) or text (a string, stored as the JSON string payload \"…\"), " +
                "and optionally session (a UUID; a new one when left out). The payload may be at most 32 KiB of JSON (else 413). " +
                "The message is stored before the answer: 202 with it, status queued. With ?wait=N (0–30 seconds) the call " +
                "waits for the agent to finish it: 200 with the finished message (done or dead, with its reply), or 202 with " +
                "its current state when N seconds pass first. With an idempotency key (header Idempotency-Key, or " +
                "idempotency_key in the body) a repeat stores nothing and answers with the first message (same id); without one, " +
                "every post is a new message. With Accept: text/event-stream (or ?stream=true) the answer is " +
                "the message's event stream instead, as GET /agents/{agent_id}/messages/{message_id}/events sends it.";
            s.Responses[200] = "The message, finished (with ?wait).";
            s.Responses[202] = "The message, accepted and not finished yet.";
            s.Responses[404] = "No such agent, or not the caller's.";
            s.Responses[413] = "The payload or the whole body is too large.";
            s.Responses[422] = "The idempotency key was already used for a message to another agent.";
            s.Responses[429] = "A quota (messages_per_day, queued_messages_per_agent) is reached, or (streaming) the caller holds as " +
                "many event streams as it may: see Retry-After. Nothing is stored.";
            s.ExampleRequest = new Request { Payload = OpenApiExamples.Json("""{"hello": "world"}""") };
            s.ResponseExamples[200] = OpenApiExamples.Message("done");
            s.ResponseExamples[202] = OpenApiExamples.Message("queued");
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

        // A stream's slot is taken before the message is stored: a refused stream (429) stores nothing.
        using var slot = request.WantsStream(HttpContext.Request) ? streams.Hold(User.UserId()) : null;

        var session = MessageRules.ParseSession(request.Session) ?? Guid.NewGuid();
        var sent = await messages.SendToAgentAsync(User.UserId(), request.AgentId, payload, session,
            MessageRules.CurrentTraceparent(), request.ClientKey, ct);
        if (sent.Outcome != SendOutcome.Sent)
        {
            await Send.ResultAsync(sent.Outcome == SendOutcome.KeyReused ? MessageProblems.IdempotencyKeyReused()
                : AgentProblems.NotFound());
            return;
        }

        var message = sent.Message!;
        HttpContext.Response.Headers.Location =
            $"/agents/{request.AgentId.ToString(CultureInfo.InvariantCulture)}/messages/{message.Id:D}";
        if (request.WantsStream(HttpContext.Request))
        {
            await stream.WriteAsync(HttpContext, message, lastEventId: null, ct);
            return;
        }

        if (request.WaitTime is { } wait)
        {
            message = await waiter.WaitUntilFinishedAsync(message, wait, ct);
        }

        var status = MessageStatus.IsFinal(message.Status) ? StatusCodes.Status200OK : StatusCodes.Status202Accepted;
        await Send.ResponseAsync(MessageResponse.From(message), status, ct);
    }
}
