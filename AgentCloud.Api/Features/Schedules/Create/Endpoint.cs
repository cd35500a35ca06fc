using System.Globalization;
using AgentCloud.Api.Features.Messages;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Schedules.Create;

public sealed class Endpoint(ScheduleStore schedules) : Endpoint<Request, ScheduleResponse>
{
    public override void Configure()
    {
        Post("/agents/{agent_id}/schedules");
        Policies(ApiScopes.AgentsWrite);
        Summary(s =>
        {
            s.Summary = "Add a schedule that sends the agent a message: by cron (in a time zone), every so many seconds, or once";
            s.Description =
                "Exactly one of cron (five fields, or six with seconds first; time_zone an IANA id, UTC when left out), " +
                "interval_seconds or at (a future time). The message is payload or text, sent by the owner (so it counts against " +
                "the owner's quotas like a POST to /messages), to session when given, else in a new session each time. A due time " +
                "missed while no worker ran fires once when one is back.";
            s.Responses[201] = "The schedule, with its first due time (next_due_at).";
            s.Responses[400] = "A bad cron, time zone, interval (shorter than the operator allows) or time, or a bad payload.";
            s.Responses[403] = "Quota schedules_per_agent reached.";
            s.Responses[404] = "No such agent, or not the caller's.";
            s.Responses[413] = "The payload is too large.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var definition = request.Definition();
        if (MessageRules.IsTooLarge(definition.PayloadJson))
        {
            await Send.ResultAsync(MessageRules.PayloadTooLarge());
            return;
        }

        var row = await schedules.CreateAsync(request.AgentId, definition, ct);
        HttpContext.Response.Headers.Location =
            $"/agents/{request.AgentId.ToString(CultureInfo.InvariantCulture)}/schedules/{row.Id:D}";
        await Send.ResponseAsync(ScheduleResponse.From(row), StatusCodes.Status201Created, ct);
    }
}
