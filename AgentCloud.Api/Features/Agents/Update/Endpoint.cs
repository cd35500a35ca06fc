using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Agents.Update;

public sealed class Endpoint(AgentStore agents) : Endpoint<Request, AgentResponse>
{
    public override void Configure()
    {
        Put("/agents/{agent_id}");
        Policies(ApiScopes.AgentsWrite);
        Summary(s =>
        {
            s.Summary = "Rename an agent and/or replace its config";
            s.Description = "A changed config is noted in the agent's log.";
            s.Responses[200] = "The agent as changed.";
            s.Responses[404] = "No such agent, or not the caller's.";
            s.ExampleRequest = new Request { Config = OpenApiExamples.Json("""{"behavior": "echo", "note": "changed"}""") };
            s.ResponseExamples[200] = OpenApiExamples.Agent;
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var agent = await agents.UpdateAsync(User.UserId(), request.AgentId, request.Name, request.Config, ct);
        if (agent is null)
        {
            await Send.ResultAsync(AgentProblems.NotFound());
            return;
        }

        await Send.OkAsync(AgentResponse.From(agent), ct);
    }
}
