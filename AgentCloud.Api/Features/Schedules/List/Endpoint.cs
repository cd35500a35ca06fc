using AgentCloud.Api.Features.Runs;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Schedules.List;

public sealed class Endpoint(ScheduleStore schedules) : Endpoint<AgentRequest, ScheduleList>
{
    public override void Configure()
    {
        Get("/agents/{agent_id}/schedules");
        Policies(ApiScopes.AgentsRead);
        Summary(s =>
        {
            s.Summary = "The agent's schedules, oldest first (an agent has at most schedules_per_agent)";
            s.Responses[200] = "The schedules.";
            s.Responses[404] = "No such agent, or not the caller's.";
        });
    }

    public override async Task HandleAsync(AgentRequest request, CancellationToken ct) =>
        await Send.OkAsync(new ScheduleList([.. (await schedules.ListAsync(request.AgentId, ct)).Select(ScheduleResponse.From)]), ct);
}
