using System.Text.Json;
using AgentCloud.Shared.Messaging.Behaviors;
using FastEndpoints;

namespace AgentCloud.Api.Features.Agents.Create;

public sealed class Request
{
    public string? Name { get; init; }

    /// <summary>A JSON object, <c>{}</c> when left out; its <c>behavior</c> (default, echo, forward…) must be known.</summary>
    public JsonElement? Config { get; init; }

    public sealed class Validator : Validator<Request>
    {
        public Validator(AgentBehaviors behaviors)
        {
            RuleFor(r => r.Name).ValidAgentName();
            RuleFor(r => r.Config).ValidAgentConfig(behaviors);
        }
    }
}
