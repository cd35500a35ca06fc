using AgentCloud.Api.Features.Users;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Auth.Signup;

public sealed class Endpoint(UserStore users, PasswordHashing passwords) : Endpoint<Request, UserResponse>
{
    public override void Configure()
    {
        Post("/signup");
        AllowAnonymous();
        Options(route => route.RequireRateLimiting(RateLimits.Signup));
        Summary(s =>
        {
            s.Summary = "Create an account";
            s.Responses[201] = "The new user.";
            s.Responses[409] = "The username or email is taken.";
            s.Responses[429] = "Too many sign-ups from this client: see Retry-After.";
            s.ExampleRequest = new Request { Username = "ada", Email = "ada@example.com", Password = "a long passphrase" };
            s.ResponseExamples[201] = OpenApiExamples.User;
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var user = await users.CreateAsync(request.Username, request.Email, passwords.Hash(request.Password), ct);
        if (user is null)
        {
            await Send.ResultAsync(ProblemResponses.Problem(StatusCodes.Status409Conflict, "The username or email is already registered."));
            return;
        }

        HttpContext.Response.Headers.Location = "/users/me";
        await Send.ResponseAsync(UserResponse.From(user), StatusCodes.Status201Created, ct);
    }
}
