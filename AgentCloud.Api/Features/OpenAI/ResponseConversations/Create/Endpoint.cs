using System.Text.Json.Nodes;
using AgentCloud.Api.Features.OpenAI.Responses;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.OpenAI.ResponseConversations.Create;

/// <summary>
/// A new conversation: a session the caller owns, continued by the responses that name it. Its first response binds it to
/// that response's agent. Initial items cannot be given: an agent's history is what it was sent and answered.
/// </summary>
public sealed class Endpoint(ResponseStore store) : EndpointWithoutRequest
{
    public override void Configure()
    {
        Post("/v1/conversations");
        AllowAnonymous();
        Summary(s =>
        {
            s.Summary = "Conversations API: a new conversation (a session of the caller's), for responses to continue";
            s.Responses[200] = "The conversation: {id, object: conversation, created_at, metadata}.";
            s.Responses[400] = "Invalid request, or initial items (OpenAI-style error).";
            s.Responses[401] = "No valid bearer token (OpenAI-style error).";
            s.Responses[403] = "The API key lacks messages:send (OpenAI-style error).";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        if (await OpenAIErrors.AuthenticateAsync(HttpContext) is not { } userId
            || !await OpenAIErrors.RequireScopeAsync(HttpContext, ApiScopes.MessagesSend)
            || await ResponsesDoor.ReadObjectAsync(HttpContext, emptyIsObject: true, ct) is not { } request)
        {
            return;
        }

        if (ResponsesDoor.InvalidMetadata(request["metadata"]) is { } problem)
        {
            await ResponsesDoor.BadRequestAsync(HttpContext, problem, "metadata");
            return;
        }

        if (request["items"] is { } items && (items is not JsonArray list || list.Count > 0))
        {
            await ResponsesDoor.BadRequestAsync(HttpContext,
                "Initial items are not supported: an agent's history is what it was sent, so send them as responses.", "items");
            return;
        }

        var row = await store.CreateConversationAsync(userId, (request["metadata"] as JsonObject ?? []).ToJsonString(), ct);
        await Send.StringAsync(ConversationObjects.Conversation(row).ToJsonString(), contentType: "application/json", cancellation: ct);
    }
}
