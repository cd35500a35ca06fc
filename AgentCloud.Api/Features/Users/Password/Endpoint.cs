using AgentCloud.Api.Features.Auth;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;
using LoginResponse = AgentCloud.Api.Features.Auth.Login.Response;

namespace AgentCloud.Api.Features.Users.Password;

public sealed class Endpoint(UserStore users, PasswordHashing passwords, TokenIssuer tokens)
    : Endpoint<Request, LoginResponse>
{
    public override void Configure()
    {
        Post("/users/me/password");
        Policies(ApiScopes.Session);
        Options(route => route.RequireRateLimiting(RateLimits.Login));
        Summary(s =>
        {
            s.Summary = "Change the caller's password";
            s.Description =
                "Needs the old password. Every token issued before (this one too) stops working at once; the answer " +
                "carries a new token, as /login would. API keys are not affected (delete them with DELETE /api-keys/{id}).";
            s.Responses[200] = "The new access token.";
            s.Responses[403] = "The old password is wrong, or the caller used an API key.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var userId = User.UserId();
        var credentials = await users.FindCredentialsAsync(userId, ct);
        if (credentials is null || passwords.Verify(credentials.PasswordHash, request.OldPassword) == PasswordCheck.Failed)
        {
            // Guessing here is rate-limited like /login, per client.
            await Send.ResultAsync(ProblemResponses.Problem(StatusCodes.Status403Forbidden, "old_password is not the current password."));
            return;
        }

        var version = await users.ChangePasswordAsync(userId, credentials.PasswordHash, passwords.Hash(request.NewPassword), ct);
        if (version is null)
        {
            await Send.ResultAsync(ProblemResponses.Problem(StatusCodes.Status409Conflict,
                "The password was changed by another request meanwhile. Log in again."));
            return;
        }

        var token = tokens.Issue(userId, version.Value);
        await Send.OkAsync(new LoginResponse(token.Token, "bearer", (int)token.Lifetime.TotalSeconds), ct);
    }
}
