using System.Text.Json.Nodes;
using AgentCloud.Api.Features.Doors;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.OpenAI.Models;

public sealed class Endpoint(Conversations conversations) : EndpointWithoutRequest
{
    public override void Configure()
    {
        Get("/v1/models");
        // Authenticated by hand, so a bad token gets OpenAI's error body, not problem details.
        AllowAnonymous();
        Summary(s =>
        {
            s.Summary = "OpenAI-compatible: the caller's agents as models (agent-{id})";
            s.Responses[200] = "{object: list, data: [{id, object: model, created, owned_by}]}";
            s.Responses[403] = "The API key lacks agents:read (OpenAI-style error).";
            s.Responses[401] = "No valid bearer token (OpenAI-style error).";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        if (await OpenAIErrors.AuthenticateAsync(HttpContext) is not { } userId
            || !await OpenAIErrors.RequireScopeAsync(HttpContext, ApiScopes.AgentsRead))
        {
            return;
        }

        var agents = (await conversations.AgentsAsync(userId, ct)).Where(agent => User.MayUseAgent(agent.Id));
        var data = new JsonArray([.. agents.Select(agent => (JsonNode)new JsonObject
        {
            ["id"] = OpenAIErrors.Model(agent.Id),
            ["object"] = "model",
            ["created"] = new DateTimeOffset(DateTime.SpecifyKind(agent.CreatedAt, DateTimeKind.Utc)).ToUnixTimeSeconds(),
            ["owned_by"] = $"agentcloud:{agent.Name}",
        })]);
        await Send.StringAsync(new JsonObject { ["object"] = "list", ["data"] = data }.ToJsonString(), contentType: "application/json",
            cancellation: ct);
    }
}
