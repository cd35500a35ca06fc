using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Users.Password;

public sealed class Request
{
    public string OldPassword { get; init; } = null!;
    public string NewPassword { get; init; } = null!;

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.OldPassword).NotEmpty().WithMessage("old_password is required.").MaximumLength(1024);
            RuleFor(r => r.NewPassword)
                .NotEmpty().WithMessage("new_password is required.")
                .Length(8, 128).WithMessage("new_password must be 8 to 128 characters long.");
        }
    }
}
