using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Webhooks.Delete;

public sealed class Endpoint(WebhookStore webhooks) : Endpoint<WebhookRouteRequest>
{
    public override void Configure()
    {
        Delete("/webhooks/{webhook_id}");
        Policies(ApiScopes.Session);
        Summary(s =>
        {
            s.Summary = "Delete a webhook";
            s.Description = "At once: nothing more is sent to it, the deliveries still due included, and its delivery history goes.";
            s.Responses[204] = "Deleted.";
            s.Responses[403] = "The caller used an API key: webhooks are managed with a login token.";
            s.Responses[404] = "No such webhook, or not the caller's.";
        });
    }

    public override async Task HandleAsync(WebhookRouteRequest request, CancellationToken ct)
    {
        if (request.ParsedId is not { } id || !await webhooks.DeleteAsync(User.UserId(), id, ct))
        {
            await Send.ResultAsync(WebhookProblems.NotFound());
            return;
        }

        await Send.NoContentAsync(ct);
    }
}
