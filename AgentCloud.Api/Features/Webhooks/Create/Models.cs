using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Webhooks.Create;

public sealed class Request
{
    /// <summary>Where deliveries are POSTed: http(s), a public host unless the operator allows others.</summary>
    public string? Url { get; init; }

    /// <summary>Any of message.done, message.dead, message.waiting, approval.requested.</summary>
    public List<string>? Events { get; init; }

    /// <summary>Left out: every agent of the caller, now and later. Else only these (the caller's own).</summary>
    public List<int>? AgentIds { get; init; }

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.Url).NotEmpty().WithMessage("url is required.");
            RuleFor(r => r.Events).NotNull().WithMessage("events is required.").ValidEvents();
            RuleFor(r => r.AgentIds).ValidAgentIds(emptyMeansAll: false);
        }
    }
}

/// <summary>The new webhook with its signing secret: the only time the secret is shown.</summary>
public sealed record Response(Guid Id, string Url, IReadOnlyList<string> Events, IReadOnlyList<int>? AgentIds, string Secret,
    DateTime CreatedAt, DateTime UpdatedAt);
