using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Auth.Login;

/// <summary>JSON, or the OAuth2 password grant form (<c>grant_type</c>, <c>scope</c> and client fields are ignored).</summary>
public sealed class Request
{
    public string Username { get; init; } = null!;
    public string Password { get; init; } = null!;

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.Username).NotEmpty().WithMessage("username is required.").MaximumLength(256);
            RuleFor(r => r.Password).NotEmpty().WithMessage("password is required.").MaximumLength(1024);
        }
    }
}

public sealed record Response(string AccessToken, string TokenType, int ExpiresIn);
