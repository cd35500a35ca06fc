using System.Text.Json;
using FastEndpoints;

namespace AgentCloud.Api.Features.Agents.Create;

public sealed class Request
{
    public string? Name { get; init; }

    /// <summary>Any JSON object; <c>{}</c> when left out.</summary>
    public JsonElement? Config { get; init; }

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.Name).ValidAgentName();
            RuleFor(r => r.Config).ValidAgentConfig();
        }
    }
}
