using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Webhooks.Get;

public sealed class Endpoint(WebhookStore webhooks) : Endpoint<WebhookRouteRequest, WebhookResponse>
{
    public override void Configure()
    {
        Get("/webhooks/{webhook_id}");
        Policies(ApiScopes.Session);
        Summary(s =>
        {
            s.Summary = "One of the caller's webhooks (never its secret)";
            s.Responses[200] = "The webhook.";
            s.Responses[403] = "The caller used an API key: webhooks are managed with a login token.";
            s.Responses[404] = "No such webhook, or not the caller's.";
        });
    }

    public override async Task HandleAsync(WebhookRouteRequest request, CancellationToken ct)
    {
        if (request.ParsedId is not { } id || await webhooks.GetAsync(User.UserId(), id, ct) is not { } row)
        {
            await Send.ResultAsync(WebhookProblems.NotFound());
            return;
        }

        await Send.OkAsync(WebhookResponse.From(row), ct);
    }
}
