using FastEndpoints;

namespace AgentCloud.Api.Features.Webhooks;

/// <summary>A route that names one webhook: <c>{webhook_id}</c>, a UUID (anything else is no webhook of the caller's: 404).</summary>
public class WebhookRouteRequest
{
    [BindFrom("webhook_id")]
    public string? WebhookId { get; init; }

    public Guid? ParsedId => Guid.TryParse(WebhookId, out var id) ? id : null;
}
