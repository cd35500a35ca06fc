using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Schedules.Delete;

public sealed class Endpoint(ScheduleStore schedules) : Endpoint<ScheduleRequest>
{
    public override void Configure()
    {
        Delete("/agents/{agent_id}/schedules/{schedule_id}");
        Policies(ApiScopes.AgentsWrite);
        Summary(s =>
        {
            s.Summary = "Delete a schedule: nothing more fires (messages it already sent stay)";
            s.Responses[204] = "Deleted.";
            s.Responses[400] = "schedule_id is not a UUID.";
            s.Responses[404] = "No such agent or schedule, or not the caller's.";
        });
    }

    public override async Task HandleAsync(ScheduleRequest request, CancellationToken ct)
    {
        if (!await schedules.DeleteAsync(request.AgentId, request.ScheduleId, ct))
        {
            await Send.ResultAsync(ScheduleProblems.NotFound());
            return;
        }

        await Send.NoContentAsync(ct);
    }
}
