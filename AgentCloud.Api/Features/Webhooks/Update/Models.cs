using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Webhooks.Update;

public sealed class Request : WebhookRouteRequest
{
    public string? Url { get; init; }

    public List<string>? Events { get; init; }

    /// <summary>Only these agents from now on; <c>[]</c>: every agent of the caller again.</summary>
    public List<int>? AgentIds { get; init; }

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r)
                .Must(r => r.Url is not null || r.Events is not null || r.AgentIds is not null)
                .WithName("body")
                .WithMessage("Give url, events, agent_ids or any of them.");
            RuleFor(r => r.Events).ValidEvents();
            RuleFor(r => r.AgentIds).ValidAgentIds(emptyMeansAll: true);
        }
    }
}
