using AgentCloud.Api.Features.Messages;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Messaging;
using FastEndpoints;

namespace AgentCloud.Api.Features.OpenAI.Responses.Cancel;

/// <summary>Cancels a response that has not finished: the message is withdrawn as <c>POST …/messages/{id}/cancel</c> withdraws
/// it.</summary>
public sealed class Endpoint(ResponseStore store, MessageCancellation cancellation) : EndpointWithoutRequest
{
    public override void Configure()
    {
        Post("/v1/responses/{response_id}/cancel");
        AllowAnonymous();
        Summary(s =>
        {
            s.Summary = "Responses API: cancel a response that has not finished";
            s.Description = "A queued response is never handled; a running one's result is not committed. Cancelling a cancelled " +
                "response answers it again; a completed or failed one is a 400.";
            s.Responses[200] = "The response, cancelled.";
            s.Responses[400] = "The response had already finished (OpenAI-style error).";
            s.Responses[401] = "No valid bearer token (OpenAI-style error).";
            s.Responses[403] = "The API key lacks messages:send (OpenAI-style error).";
            s.Responses[404] = "No such response of the caller (OpenAI-style error).";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        if (await OpenAIErrors.AuthenticateAsync(HttpContext) is not { } userId
            || !await OpenAIErrors.RequireScopeAsync(HttpContext, ApiScopes.MessagesSend)
            || await ResponsesDoor.FindResponseAsync(HttpContext, store, userId, Route<string>("response_id"), null, ct) is not { } found)
        {
            return;
        }

        var (message, _) = await cancellation.CancelAsync(found.AgentId, found.Id, ct);
        message ??= found;
        if (message.Status != MessageStatus.Canceled)
        {
            await ResponsesDoor.BadRequestAsync(HttpContext,
                $"Cannot cancel a response that is {ResponseObjects.Status(message.Status)}.", null, "response_already_finished");
            return;
        }

        var response = await ResponsesDoor.ResponseAsync(store, userId, message, ct);
        await Send.StringAsync(response.ToJsonString(), contentType: "application/json", cancellation: ct);
    }
}
