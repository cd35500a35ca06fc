using System.Text.Json.Nodes;
using AgentCloud.Api.Features.OpenAI.Responses;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.OpenAI.ResponseConversations.Delete;

/// <summary>Deletes the conversation (nobody can continue or list it again); its messages stay, as OpenAI keeps a deleted conversation's
/// items.</summary>
public sealed class Endpoint(ResponseStore store) : EndpointWithoutRequest
{
    public override void Configure()
    {
        Delete("/v1/conversations/{conversation_id}");
        AllowAnonymous();
        Summary(s =>
        {
            s.Summary = "Conversations API: delete one of the caller's conversations (its messages stay)";
            s.Responses[200] = "{id, object: conversation.deleted, deleted: true}.";
            s.Responses[401] = "No valid bearer token (OpenAI-style error).";
            s.Responses[403] = "The API key lacks messages:send (OpenAI-style error).";
            s.Responses[404] = "No such conversation of the caller (OpenAI-style error).";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var id = Route<string>("conversation_id");
        if (await OpenAIErrors.AuthenticateAsync(HttpContext) is not { } userId
            || !await OpenAIErrors.RequireScopeAsync(HttpContext, ApiScopes.MessagesSend)
            || await ResponsesDoor.FindConversationAsync(HttpContext, store, userId, id, null, ct) is not { } row)
        {
            return;
        }

        if (!await store.DeleteConversationAsync(userId, row.Id, ct))
        {
            await ResponsesDoor.ConversationNotFoundAsync(HttpContext, id, null);
            return;
        }

        var deleted = new JsonObject { ["id"] = ResponseIds.Conversation(row.Id), ["object"] = "conversation.deleted", ["deleted"] = true };
        await Send.StringAsync(deleted.ToJsonString(), contentType: "application/json", cancellation: ct);
    }
}
