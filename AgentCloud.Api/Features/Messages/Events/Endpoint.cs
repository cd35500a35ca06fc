using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Messages.Events;

public sealed class Endpoint(MessageStore messages, MessageEventStream stream, HeldStreams streams) : Endpoint<Get.Request>
{
    public override void Configure()
    {
        Get("/agents/{agent_id}/messages/{message_id}/events");
        Policies(ApiScopes.AgentsRead);
        Summary(s =>
        {
            s.Summary = "Follow a message as it runs (server-sent events)";
            s.Description =
                "text/event-stream: accepted (id 0, the message), then what the run produces (step, delta {text}, tool_call, " +
                "tool_result; ids 1, 2, …), then done (the finished message) or error (dead or canceled), after which the stream " +
                "ends. A finished message replays its events and ends. Last-Event-ID resumes after that id. A \": keep-alive\" " +
                "comment comes every 15 seconds; the stream also ends when the caller's token expires.";
            s.Responses[200] = "The event stream.";
            s.Responses[404] = "No such agent or message, or not the caller's.";
            s.Responses[429] = "The caller (or the API) holds as many event streams as it may (quota event_streams_per_user): " +
                "see Retry-After.";
        });
    }

    public override async Task HandleAsync(Get.Request request, CancellationToken ct)
    {
        var message = await messages.FindAsync(request.AgentId, request.ParsedMessageId, ct);
        if (message is null)
        {
            await Send.ResultAsync(MessageProblems.NotFound());
            return;
        }

        using var slot = streams.Hold(User.UserId());
        await stream.WriteAsync(HttpContext, message, ServerSentEvents.LastEventId(HttpContext.Request), ct);
    }
}
