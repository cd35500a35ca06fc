using System.Globalization;
using AgentCloud.Api.Features.Users;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Auth.Login;

public sealed class Endpoint(UserStore users, PasswordHashing passwords, TokenIssuer tokens, LoginThrottle throttle) : Endpoint<Request,
    Response>
{
    public override void Configure()
    {
        Post("/login");
        AllowAnonymous();
        AllowFormData(urlEncoded: true);
        // The OAuth2 password grant posts a form; clients of the original API post JSON. Both work.
        Description(route => route.Accepts<Request>("application/json", "application/x-www-form-urlencoded"));
        Options(route => route.RequireRateLimiting(RateLimits.Login));
        Summary(s =>
        {
            s.Summary = "Log in and get a bearer token";
            s.Description = "Accepts JSON or the OAuth2 password grant form (application/x-www-form-urlencoded).";
            s.Responses[200] = "The access token.";
            s.Responses[401] = "Incorrect username or password.";
            s.Responses[429] = "Too many attempts from this client, or too many failed ones for this account.";
            s.ExampleRequest = new Request { Username = "ada", Password = "a long passphrase" };
            s.ResponseExamples[200] = new Response("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "bearer", 1800);
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        if (throttle.Blocked(request.Username) is { } wait)
        {
            HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds))
                .ToString(CultureInfo.InvariantCulture);
            await Send.ResultAsync(ProblemResponses.Problem(StatusCodes.Status429TooManyRequests,
                "Too many failed logins for this account. Try again later."));
            return;
        }

        var credentials = await CheckCredentialsAsync(request.Username, request.Password, ct);
        if (credentials is null)
        {
            throttle.Failed(request.Username);
            HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
            await Send.ResultAsync(ProblemResponses.Problem(StatusCodes.Status401Unauthorized, "Incorrect username or password"));
            return;
        }

        var token = tokens.Issue(credentials.Id, credentials.TokenVersion);
        await Send.OkAsync(new Response(token.Token, "bearer", (int)token.Lifetime.TotalSeconds), ct);
    }

    /// <summary>The user when the password is right; upgrades an old-style hash on the way.</summary>
    private async Task<Credentials?> CheckCredentialsAsync(string username, string password, CancellationToken ct)
    {
        var credentials = await users.FindCredentialsAsync(username, ct);
        if (credentials is null)
        {
            passwords.VerifyAgainstDummy(password);
            return null;
        }

        switch (passwords.Verify(credentials.PasswordHash, password))
        {
            case PasswordCheck.Succeeded:
                return credentials;
            case PasswordCheck.SucceededRehashNeeded:
                await users.ReplacePasswordHashAsync(credentials.Id, credentials.PasswordHash, passwords.Hash(password), ct);
                return credentials;
            default:
                return null;
        }
    }
}
