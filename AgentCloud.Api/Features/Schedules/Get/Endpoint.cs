using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Schedules.Get;

public sealed class Endpoint(ScheduleStore schedules) : Endpoint<ScheduleRequest, ScheduleResponse>
{
    public override void Configure()
    {
        Get("/agents/{agent_id}/schedules/{schedule_id}");
        Policies(ApiScopes.AgentsRead);
        Summary(s =>
        {
            s.Summary = "One schedule: its next due time, and what its last due time sent (last_message_id) or why not (last_error)";
            s.Responses[200] = "The schedule.";
            s.Responses[400] = "schedule_id is not a UUID.";
            s.Responses[404] = "No such agent or schedule, or not the caller's.";
        });
    }

    public override async Task HandleAsync(ScheduleRequest request, CancellationToken ct)
    {
        if (await schedules.FindAsync(request.AgentId, request.ScheduleId, ct) is not { } row)
        {
            await Send.ResultAsync(ScheduleProblems.NotFound());
            return;
        }

        await Send.OkAsync(ScheduleResponse.From(row), ct);
    }
}
