using System.Globalization;
using AgentCloud.Api.Features.Callbacks;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.UAgents;
using FastEndpoints;

namespace AgentCloud.Api.Features.Webhooks.Update;

public sealed class Endpoint(WebhookStore webhooks, OutboundDestinationPolicy destinations) : Endpoint<Request, WebhookResponse>
{
    public override void Configure()
    {
        Patch("/webhooks/{webhook_id}");
        Policies(ApiScopes.Session);
        Summary(s =>
        {
            s.Summary = "Change a webhook's url, events or agents";
            s.Description = "Only what is given changes; agent_ids [] means every agent of the caller again. The secret stays.";
            s.Responses[200] = "The webhook as changed.";
            s.Responses[400] = "A bad url, event or agent id.";
            s.Responses[403] = "The caller used an API key: webhooks are managed with a login token.";
            s.Responses[404] = "No such webhook, or not the caller's.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var userId = User.UserId();
        if (request.ParsedId is not { } id)
        {
            await Send.ResultAsync(WebhookProblems.NotFound());
            return;
        }

        if (request.Url is not null && await CallbackUrls.ProblemAsync(request.Url, destinations, ct) is { } problem)
        {
            AddError(r => r.Url!, problem);
        }

        var agentIds = request.AgentIds?.Distinct().Order().ToArray();
        if (agentIds is { Length: > 0 } && (await webhooks.NotOwnedAsync(userId, agentIds, ct)) is { Count: > 0 } notOwned)
        {
            AddError(r => r.AgentIds!, $"agent_ids: agent {notOwned[0].ToString(CultureInfo.InvariantCulture)} is not one of yours.");
        }

        ThrowIfAnyErrors();
        var events = request.Events?.Distinct().ToArray();
        var row = await webhooks.UpdateAsync(userId, id, request.Url, events, agentIds is { Length: > 0 } ? agentIds : null,
            allAgents: agentIds is { Length: 0 }, ct);
        if (row is null)
        {
            await Send.ResultAsync(WebhookProblems.NotFound());
            return;
        }

        await Send.OkAsync(WebhookResponse.From(row), ct);
    }
}
