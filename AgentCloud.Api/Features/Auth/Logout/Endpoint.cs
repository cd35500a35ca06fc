using AgentCloud.Api.Features.Users;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Auth.Logout;

public sealed class Endpoint(UserStore users, JwtSettings settings) : Endpoint<Request>
{
    public override void Configure()
    {
        Post("/logout");
        Policies(ApiScopes.Session);
        Summary(s =>
        {
            s.Summary = "End the presented token (or, with ?all=true, every token of the caller)";
            s.Description = "Effective at once on every route, live log streams included. API keys are not affected.";
            s.Responses[204] = "Logged out.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var userId = User.UserId();
        // A token from before tokens had ids cannot be named alone: it ends with all the others.
        if (request.All == true || User.Jti() is not { } jti)
        {
            await users.RevokeAllTokensAsync(userId, ct);
        }
        else
        {
            var expires = User.TokenExpiresAt() ?? DateTimeOffset.UtcNow + settings.AccessTokenLifetime;
            await users.RevokeTokenAsync(userId, jti, (expires + JwtSettings.ClockSkew).UtcDateTime, ct);
        }

        await Send.NoContentAsync(ct);
    }
}
