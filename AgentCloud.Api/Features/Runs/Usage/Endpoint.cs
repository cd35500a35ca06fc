using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Runs.AgentUsage;

public sealed class Endpoint(RunStore runs) : Endpoint<AgentRequest, AgentUsageResponse>
{
    public override void Configure()
    {
        Get("/agents/{agent_id}/usage");
        Policies(ApiScopes.AgentsRead);
        Summary(s =>
        {
            s.Summary = "The model calls and tokens (input, output) all of an agent's runs used, and today's against the spending limits";
            s.Description =
                "model_calls, input_tokens and output_tokens over all time; today: this UTC day's tokens against each limit, as " +
                "{input_used, input_limit, output_used, output_limit}: user (all the owner's agents, Quotas:InputTokensPerDay and " +
                "OutputTokensPerDay), agent (config.token_limits; null limits when it has none) and outsiders (messages from " +
                "anyone but the owner: their share of the agent's limit, else of the owner's).";
            s.Responses[404] = "No such agent, or not the caller's.";
        });
    }

    public override async Task HandleAsync(AgentRequest request, CancellationToken ct)
    {
        await Send.OkAsync(await runs.AgentUsageAsync(request.AgentId, ct), ct);
    }
}
