using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Messaging;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Messages.Purge;

public sealed class Request : IAgentRequest
{
    [BindFrom("agent_id")]
    public int AgentId { get; init; }

    /// <summary>Required, so that no slip deletes a whole history: queued, processing, done, failed or dead.</summary>
    [QueryParam]
    public string? Status { get; init; }

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.Status)
                .NotEmpty().WithMessage($"status is required: one of {string.Join(", ", MessageStatus.All)}.")
                .Must(status => status is null || MessageStatus.All.Contains(status))
                .WithMessage($"status must be one of {string.Join(", ", MessageStatus.All)}.");
        }
    }
}

public sealed record Response(int Deleted);
