using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Agents.Get;

public sealed class Endpoint(AgentStore agents) : Endpoint<Request, AgentResponse>
{
    public override void Configure()
    {
        Get("/agents/{agent_id}");
        Policies(ApiScopes.AgentsRead);
        Summary(s =>
        {
            s.Summary = "One of the caller's agents";
            s.Responses[200] = "The agent.";
            s.Responses[404] = "No such agent, or not the caller's.";
            s.ResponseExamples[200] = OpenApiExamples.Agent;
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var agent = await agents.FindAsync(User.UserId(), request.AgentId, ct);
        if (agent is null)
        {
            await Send.ResultAsync(AgentProblems.NotFound());
            return;
        }

        await Send.OkAsync(AgentResponse.From(agent), ct);
    }
}
