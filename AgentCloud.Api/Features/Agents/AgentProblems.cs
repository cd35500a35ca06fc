using AgentCloud.Api.Infrastructure;

namespace AgentCloud.Api.Features.Agents;

public static class AgentProblems
{
    /// <summary>One answer for "no such agent" and "not yours", so ids of other users' agents reveal nothing.</summary>
    public static IResult NotFound() => ProblemResponses.Problem(StatusCodes.Status404NotFound, "Agent not found.");
}
