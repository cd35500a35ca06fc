using AgentCloud.Api.Features.Agents;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;
using Microsoft.AspNetCore.Http.Features;

namespace AgentCloud.Api.Features.Logs.Stream;

public sealed class Endpoint(AgentStore agents, LogFollower follower) : Endpoint<Request>
{
    public override void Configure()
    {
        Get("/agents/{agent_id}/logs/stream");
        Description(route => route.Produces<string>(StatusCodes.Status200OK, "text/event-stream"));
        Summary(s =>
        {
            s.Summary = "Follow an agent's log live (server-sent events)";
            s.Description =
                "text/event-stream: first the newest ?tail= lines (default 50, 0–1000) oldest first, then every new line as it " +
                "is written. Each line is an event \"log\" whose id is the line's id and whose data is the line as " +
                "GET /agents/{agent_id}/logs shows it. Lines come in id order, except that a line whose transaction committed " +
                "after a higher one was sent comes as soon as it is seen (within seconds). " +
                "A Last-Event-ID header resumes after that line instead of the tail. " +
                "A \": keep-alive\" comment comes every 15 seconds.";
            s.Responses[200] = "The event stream.";
            s.Responses[404] = "No such agent, or not the caller's.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        if (!await agents.ExistsAsync(User.UserId(), request.AgentId, ct))
        {
            await Send.ResultAsync(AgentProblems.NotFound());
            return;
        }

        var response = HttpContext.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(ct);

        var lastEventId = Request.ParseLastEventId(HttpContext.Request.Headers["Last-Event-ID"]);
        await follower.FollowAsync(response, request.AgentId, request.ParsedTail, lastEventId, ct);
    }
}
