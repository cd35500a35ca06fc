using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Api.Features.A2A.Protocol;
using AgentCloud.Api.Features.Doors;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.A2A.Card;

public sealed class Endpoint(Conversations conversations) : EndpointWithoutRequest
{
    public override void Configure()
    {
        Get("/a2a/{agent_id}/.well-known/agent-card.json");
        AllowAnonymous();
        Summary(s =>
        {
            s.Summary = "An agent's A2A agent card";
            s.Description = "The A2A 1.0 agent card: name, config.description, the JSON-RPC and HTTP+JSON interfaces at /a2a/{agent_id}, " +
                "skills (config.skills, or one named after the behaviour), streaming, push notifications, bearer security. An agent " +
                "whose " +
                "config has " +
                "\"public\": true shows its card to anyone; any other needs its owner's token.";
            s.Responses[200] = "The agent card.";
            s.Responses[401] = "A private agent's card, without a valid token.";
            s.Responses[404] = "No such agent, or a private agent of someone else.";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var agent = int.TryParse(Route<string>("agent_id", isRequired: false), NumberStyles.None, CultureInfo.InvariantCulture,
            out var agentId)
            ? await conversations.AgentAsync(null, agentId, ct)
            : null;
        var caller = User.Identity?.IsAuthenticated == true ? User.UserId() : (int?)null;
        var isPublic = agent?.ConfigObject["public"] is JsonValue flag && flag.TryGetValue<bool>(out var value) && value;
        if (agent is null || !isPublic)
        {
            if (caller is null)
            {
                HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
                await Send.ResultAsync(ProblemResponses.Problem(StatusCodes.Status401Unauthorized,
                    "This agent card needs its owner's bearer token."));
                return;
            }

            if (agent is null || agent.UserId != caller)
            {
                await Send.ResultAsync(ProblemResponses.Problem(StatusCodes.Status404NotFound, "Agent not found."));
                return;
            }
        }

        var card = CardFor(agent, JsonRpc.Endpoint.BaseUrl(HttpContext));
        HttpContext.Response.Headers.CacheControl = isPublic ? "public, max-age=60" : "private, max-age=60";
        await Send.StringAsync(JsonSerializer.Serialize(card, A2AJson.Options), contentType: "application/json", cancellation: ct);
    }

    public static AgentCard CardFor(DoorAgent agent, string baseUrl)
    {
        var config = agent.ConfigObject;
        var description = config["description"] is JsonValue text && text.TryGetValue<string>(out var d)
            ? d
            : $"An AgentCloud agent ({agent.Behavior} behaviour).";
        var modes = new[] { "text/plain", "application/json" };
        var url = $"{baseUrl}/a2a/{agent.Id.ToString(CultureInfo.InvariantCulture)}";
        return new AgentCard
        {
            Name = agent.Name,
            Description = description,
            // Both bindings at one URL: JSON-RPC is POST /a2a/{id} itself, HTTP+JSON the paths below it (/message:send, /tasks, …).
            SupportedInterfaces =
            [
                new AgentInterface { Url = url, ProtocolBinding = ProtocolBindings.JsonRpc, ProtocolVersion = A2AVersions.Current },
                new AgentInterface { Url = url, ProtocolBinding = ProtocolBindings.HttpJson, ProtocolVersion = A2AVersions.Current },
            ],
            Provider = new AgentProvider { Organization = "AgentCloud", Url = baseUrl },
            Version = "1.0.0",
            Capabilities = new AgentCapabilities { Streaming = true, PushNotifications = true, ExtendedAgentCard = true },
            SecuritySchemes = new Dictionary<string, SecurityScheme>
            {
                ["bearer"] = new() { HttpAuthSecurityScheme = new()
                    { Scheme = "Bearer", BearerFormat = "JWT", Description = "An AgentCloud access token (POST /login)." } },
            },
            SecurityRequirements = [new SecurityRequirement { Schemes = new Dictionary<string, StringList> { ["bearer"] = new() } }],
            DefaultInputModes = modes,
            DefaultOutputModes = modes,
            Skills = Skills(config, agent, description),
        };
    }

    private static IReadOnlyList<AgentSkill> Skills(JsonObject config, DoorAgent agent, string description)
    {
        if (config["skills"] is JsonArray declared)
        {
            try
            {
                var skills = declared.Deserialize<List<AgentSkill>>(A2AJson.Options);
                if (skills is { Count: > 0 } && skills.All(s => s.Id.Length > 0 && s.Name.Length > 0))
                {
                    return skills;
                }
            }
            catch (JsonException)
            {
                // A config's skills that are not A2A skills: fall back to the behaviour's.
            }
        }

        return [new AgentSkill { Id = agent.Behavior, Name = agent.Behavior, Description = description, Tags = [agent.Behavior] }];
    }
}
