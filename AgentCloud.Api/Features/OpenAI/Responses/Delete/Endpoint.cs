using System.Text.Json.Nodes;
using AgentCloud.Api.Features.Messages;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.OpenAI.Responses.Delete;

/// <summary>
/// Deletes a response: the message, as <c>DELETE /agents/{id}/messages/{id}</c> deletes it (a running one then commits nothing).
/// </summary>
public sealed class Endpoint(ResponseStore store, MessageStore messages) : EndpointWithoutRequest
{
    public override void Configure()
    {
        Delete("/v1/responses/{response_id}");
        AllowAnonymous();
        Summary(s =>
        {
            s.Summary = "Responses API: delete a response of the caller's (the message)";
            s.Responses[200] = "{id, object: response, deleted: true}.";
            s.Responses[401] = "No valid bearer token (OpenAI-style error).";
            s.Responses[403] = "The API key lacks agents:write (OpenAI-style error).";
            s.Responses[404] = "No such response of the caller (OpenAI-style error).";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var id = Route<string>("response_id");
        if (await OpenAIErrors.AuthenticateAsync(HttpContext) is not { } userId
            || !await OpenAIErrors.RequireScopeAsync(HttpContext, ApiScopes.AgentsWrite)
            || await ResponsesDoor.FindResponseAsync(HttpContext, store, userId, id, null, ct) is not { } message)
        {
            return;
        }

        if (!await messages.DeleteAsync(message.AgentId, message.Id, ct))
        {
            await ResponsesDoor.FindResponseAsync(HttpContext, store, userId, null, null, ct); // gone meanwhile: the same 404
            return;
        }

        var deleted = new JsonObject { ["id"] = ResponseIds.Response(message.Id), ["object"] = "response", ["deleted"] = true };
        await Send.StringAsync(deleted.ToJsonString(), contentType: "application/json", cancellation: ct);
    }
}
