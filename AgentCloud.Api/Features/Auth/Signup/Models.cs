using System.Net.Mail;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Auth.Signup;

public sealed class Request
{
    public string Username { get; init; } = null!;
    public string Email { get; init; } = null!;
    public string Password { get; init; } = null!;

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.Username)
                .NotEmpty().WithMessage("username is required.")
                .Length(3, 50).WithMessage("username must be 3 to 50 characters long.")
                .Must(name => !Usernames.HasInvisibleCharacters(name))
                    .WithMessage("username must not contain invisible or control characters.")
                .Matches("^[A-Za-z0-9_.-]*$").WithMessage("username may contain only letters, digits, '_', '.' and '-'.");
            RuleFor(r => r.Email)
                .NotEmpty().WithMessage("email is required.")
                .MaximumLength(100).WithMessage("email must be at most 100 characters long.")
                .Must(email => !Usernames.HasInvisibleCharacters(email))
                    .WithMessage("email must not contain invisible or control characters.")
                .Must(BeAnEmailAddress).WithMessage("email must be a valid email address.");
            RuleFor(r => r.Password)
                .NotEmpty().WithMessage("password is required.")
                .Length(8, 128).WithMessage("password must be 8 to 128 characters long.");
        }

        internal static bool BeAnEmailAddress(string? email)
        {
            if (string.IsNullOrEmpty(email) || email.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))
                || email.Count(c => c == '@') != 1)
            {
                return false;
            }

            var at = email.IndexOf('@');
            var domain = email[(at + 1)..];
            if (at == 0 || !domain.Contains('.') || domain.StartsWith('.') || domain.EndsWith('.') || domain.Contains(".."))
            {
                return false;
            }

            return MailAddress.TryCreate(email, out var parsed) && parsed.Address == email;
        }
    }
}
