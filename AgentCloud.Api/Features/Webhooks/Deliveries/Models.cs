using AgentCloud.Api.Infrastructure;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Webhooks.Deliveries;

public sealed class Request : PagedRequest
{
    public const int Default = 50;
    public const int Max = 200;

    [BindFrom("webhook_id")]
    public string? WebhookId { get; init; }

    protected override int DefaultLimit => Default;

    public sealed class Validator : Validator<Request>
    {
        public Validator() => this.PagingRules(Max, cursor => Cursors.TryReadDelivery(cursor, out _));
    }
}

public sealed record Response(IReadOnlyList<DeliveryResponse> Deliveries, string? NextCursor);
