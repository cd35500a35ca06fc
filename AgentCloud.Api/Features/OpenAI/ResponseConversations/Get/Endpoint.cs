using AgentCloud.Api.Features.OpenAI.Responses;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.OpenAI.ResponseConversations.Get;

public sealed class Endpoint(ResponseStore store) : EndpointWithoutRequest
{
    public override void Configure()
    {
        Get("/v1/conversations/{conversation_id}");
        AllowAnonymous();
        Summary(s =>
        {
            s.Summary = "Conversations API: one of the caller's conversations";
            s.Responses[200] = "The conversation: {id, object: conversation, created_at, metadata}.";
            s.Responses[401] = "No valid bearer token (OpenAI-style error).";
            s.Responses[403] = "The API key lacks agents:read (OpenAI-style error).";
            s.Responses[404] = "No such conversation of the caller (OpenAI-style error).";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        if (await OpenAIErrors.AuthenticateAsync(HttpContext) is not { } userId
            || !await OpenAIErrors.RequireScopeAsync(HttpContext, ApiScopes.AgentsRead)
            || await ResponsesDoor.FindConversationAsync(HttpContext, store, userId, Route<string>("conversation_id"), null, ct) is not { }
                row)
        {
            return;
        }

        await Send.StringAsync(ConversationObjects.Conversation(row).ToJsonString(), contentType: "application/json", cancellation: ct);
    }
}
