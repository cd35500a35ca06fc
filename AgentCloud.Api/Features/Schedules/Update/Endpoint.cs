using AgentCloud.Api.Features.Messages;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Schedules.Update;

public sealed class Endpoint(ScheduleStore schedules) : Endpoint<Request, ScheduleResponse>
{
    public override void Configure()
    {
        Put("/agents/{agent_id}/schedules/{schedule_id}");
        Policies(ApiScopes.AgentsWrite);
        Summary(s =>
        {
            s.Summary = "Replace a schedule's timing and message (the body of a create); its next due time starts over";
            s.Responses[200] = "The schedule.";
            s.Responses[400] = "A bad cron, time zone, interval or time, or a bad payload.";
            s.Responses[404] = "No such agent or schedule, or not the caller's.";
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

        if (await schedules.ReplaceAsync(request.AgentId, request.ScheduleId, definition, ct) is not { } row)
        {
            await Send.ResultAsync(ScheduleProblems.NotFound());
            return;
        }

        await Send.OkAsync(ScheduleResponse.From(row), ct);
    }
}
