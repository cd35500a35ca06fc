using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Runs.AgentUsage;

public sealed class Endpoint(RunStore runs) : Endpoint<AgentRequest, UsageTotals>
{
    public override void Configure()
    {
        Get("/agents/{agent_id}/usage");
        Policies(ApiScopes.AgentsRead);
        Summary(s =>
        {
            s.Summary = "The model calls and tokens (input, output) all of an agent's runs used";
            s.Responses[404] = "No such agent, or not the caller's.";
        });
    }

    public override async Task HandleAsync(AgentRequest request, CancellationToken ct)
    {
        await Send.OkAsync(await runs.UsageAsync(request.AgentId, ct), ct);
    }
}
