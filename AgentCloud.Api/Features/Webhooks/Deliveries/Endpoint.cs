using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Webhooks.Deliveries;

public sealed class Endpoint(WebhookStore webhooks) : Endpoint<Request, Response>
{
    public override void Configure()
    {
        Get("/webhooks/{webhook_id}/deliveries");
        Policies(ApiScopes.Session);
        Summary(s =>
        {
            s.Summary = "A webhook's deliveries, newest first";
            s.Description = "Each event sent (or to send) to the webhook: status (pending, delivering, delivered, dead), attempts, the " +
                "last answer's HTTP status code or why it failed, and when the next attempt is due. Cursor paginated.";
            s.Responses[200] = "A page of deliveries.";
            s.Responses[400] = "A bad limit or cursor.";
            s.Responses[403] = "The caller used an API key: webhooks are managed with a login token.";
            s.Responses[404] = "No such webhook, or not the caller's.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        if (!Guid.TryParse(request.WebhookId, out var id) || await webhooks.GetAsync(User.UserId(), id, ct) is null)
        {
            await Send.ResultAsync(WebhookProblems.NotFound());
            return;
        }

        long? before = Cursors.TryReadDelivery(request.Cursor, out var lastId) ? lastId : null;
        var limit = request.ParsedLimit;
        var rows = await webhooks.DeliveriesAsync(id, before, limit + 1, ct);
        var (items, next) = Paging.Page(rows, limit, row => Cursors.ForDelivery(row.Id));
        await Send.OkAsync(new Response([.. items.Select(DeliveryResponse.From)], next), ct);
    }
}
