using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Messaging;

namespace AgentCloud.Api.Features.Messages;

public static class MessageProblems
{
    public static IResult NotFound() => ProblemResponses.Problem(StatusCodes.Status404NotFound, "Message not found.");

    /// <summary>A repeat of a key must be a repeat of the request: the first message went elsewhere.</summary>
    public static IResult IdempotencyKeyReused() => ProblemResponses.Problem(StatusCodes.Status422UnprocessableEntity,
        "This idempotency key was already used for a message to another recipient; use a new key for a new message.");

    /// <summary>Known before anything is stored: no endpoint source could ever reach the target.</summary>
    public static IResult Unresolvable(string target) => ProblemResponses.Problem(StatusCodes.Status400BadRequest,
        MessageTable.Unresolvable(target));
}
