using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Users.Me;

public sealed class Endpoint(UserStore users) : EndpointWithoutRequest<UserResponse>
{
    public override void Configure()
    {
        Get("/users/me");
        Summary(s => s.Summary = "The caller's account");
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        // The bearer handler has just checked the user exists; a delete in between is a plain 401.
        var user = await users.FindAsync(User.UserId(), ct);
        if (user is null)
        {
            await Send.ResultAsync(ProblemResponses.Problem(StatusCodes.Status401Unauthorized, "A valid bearer token is required."));
            return;
        }

        await Send.OkAsync(UserResponse.From(user), ct);
    }
}
