using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Schedules;

/// <summary>A request about one schedule of one of the caller's agents.</summary>
public sealed class ScheduleRequest : IAgentRequest
{
    [BindFrom("agent_id")]
    public int AgentId { get; init; }

    [BindFrom("schedule_id")]
    public Guid ScheduleId { get; init; }
}

public static class ScheduleProblems
{
    public static IResult NotFound() => ProblemResponses.Problem(StatusCodes.Status404NotFound, "Schedule not found.");
}
