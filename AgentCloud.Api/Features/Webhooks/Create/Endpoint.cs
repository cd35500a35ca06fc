using System.Globalization;
using AgentCloud.Api.Features.Callbacks;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.UAgents;
using FastEndpoints;

namespace AgentCloud.Api.Features.Webhooks.Create;

public sealed class Endpoint(WebhookStore webhooks, OutboundDestinationPolicy destinations) : Endpoint<Request, Response>
{
    public override void Configure()
    {
        Post("/webhooks");
        Policies(ApiScopes.Session);
        Summary(s =>
        {
            s.Summary = "Register a webhook";
            s.Description =
                "Events (message.done, message.dead, message.waiting, approval.requested) of the caller's agents, or of agent_ids " +
                "only, are POSTed to url, signed as Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature: v1,<base64 " +
                "HMAC-SHA256 of id.timestamp.body keyed by the secret>), retried with backoff until a 2xx, in order per message. " +
                "The answer holds the signing secret (whsec_…) once. Login tokens only.";
            s.Responses[201] = "The webhook, with its secret shown this once.";
            s.Responses[400] = "A bad url (not http(s), or a loopback, private or link-local destination), event or agent id.";
            s.Responses[403] = "The caller used an API key: webhooks are managed with a login token.";
            s.Responses[409] = $"The caller already has {WebhookStore.MaxPerUser} webhooks.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var userId = User.UserId();
        if (await CallbackUrls.ProblemAsync(request.Url, destinations, ct) is { } problem)
        {
            AddError(r => r.Url!, problem);
        }

        var agentIds = request.AgentIds?.Distinct().Order().ToArray();
        if (agentIds is not null && (await webhooks.NotOwnedAsync(userId, agentIds, ct)) is { Count: > 0 } notOwned)
        {
            AddError(r => r.AgentIds!, $"agent_ids: agent {notOwned[0].ToString(CultureInfo.InvariantCulture)} is not one of yours.");
        }

        ThrowIfAnyErrors();
        var secret = WebhookSignature.NewSecret();
        var row = await webhooks.CreateAsync(userId, request.Url!, [.. request.Events!.Distinct()], agentIds, secret, ct);
        if (row is null)
        {
            await Send.ResultAsync(ProblemResponses.Problem(StatusCodes.Status409Conflict,
                $"You have {WebhookStore.MaxPerUser} webhooks, the most one user may have: delete one first."));
            return;
        }

        HttpContext.Response.Headers.Location = $"/webhooks/{row.Id:D}";
        var shown = WebhookResponse.From(row);
        await Send.ResponseAsync(new Response(shown.Id, shown.Url, shown.Events, shown.AgentIds, secret, shown.CreatedAt, shown.UpdatedAt),
            StatusCodes.Status201Created, ct);
    }
}
