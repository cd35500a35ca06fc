using System.Text.Json;
using AgentCloud.Shared.Messaging.Behaviors;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Agents.Update;

public sealed class Request
{
    /// <summary>From the route.</summary>
    [BindFrom("agent_id")]
    public int AgentId { get; init; }

    public string? Name { get; init; }

    public JsonElement? Config { get; init; }

    public sealed class Validator : Validator<Request>
    {
        public Validator(AgentBehaviors behaviors)
        {
            RuleFor(r => r)
                .Must(r => r.Name is not null || r.Config is not null)
                .WithName("body")
                .WithMessage("Give name, config or both.");
            When(r => r.Name is not null, () => RuleFor(r => r.Name).ValidAgentName());
            RuleFor(r => r.Config).ValidAgentConfig(behaviors);
        }
    }
}
