using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Webhooks.List;

public sealed class Endpoint(WebhookStore webhooks) : EndpointWithoutRequest<IReadOnlyList<WebhookResponse>>
{
    public override void Configure()
    {
        Get("/webhooks");
        Policies(ApiScopes.Session);
        Summary(s =>
        {
            s.Summary = "The caller's webhooks (never their secrets)";
            s.Responses[200] = "The webhooks, oldest first.";
            s.Responses[403] = "The caller used an API key: webhooks are managed with a login token.";
        });
    }

    public override async Task HandleAsync(CancellationToken ct) =>
        await Send.OkAsync([.. (await webhooks.ListAsync(User.UserId(), ct)).Select(WebhookResponse.From)], ct);
}
