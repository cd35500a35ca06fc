using AgentCloud.Api.Infrastructure;

namespace AgentCloud.Api.Features.Messages;

public static class MessageProblems
{
    public static IResult NotFound() => ProblemResponses.Problem(StatusCodes.Status404NotFound, "Message not found.");
}
