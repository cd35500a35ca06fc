using System.Globalization;
using System.Text.Json;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Agents.Create;

public sealed class Endpoint(AgentStore agents) : Endpoint<Request, AgentResponse>
{
    private static readonly JsonElement EmptyConfig = JsonDocument.Parse("{}").RootElement.Clone();

    public override void Configure()
    {
        Post("/agents");
        Policies(ApiScopes.AgentsWrite);
        Summary(s =>
        {
            s.Summary = "Create an agent";
            s.Description = "The agent gets its own uAgents address, and an \"Agent created\" line in its log.";
            s.Responses[201] = "The new agent.";
            s.Responses[403] = "A quota (agents_per_user, config_bytes_per_user) is reached, or the API key is limited to certain agents.";
            s.ExampleRequest = new Request { Name = "weather", Config = OpenApiExamples.Json("""{"behavior": "echo"}""") };
            s.ResponseExamples[201] = OpenApiExamples.Agent;
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        if (User.AllowedAgents() is not null)
        {
            await Send.ResultAsync(ProblemResponses.Problem(StatusCodes.Status403Forbidden,
                "This API key is limited to certain agents; it cannot create agents."));
            return;
        }

        var agent = await agents.CreateAsync(User.UserId(), request.Name!, request.Config ?? EmptyConfig, ct);
        HttpContext.Response.Headers.Location = $"/agents/{agent.Id.ToString(CultureInfo.InvariantCulture)}";
        await Send.ResponseAsync(AgentResponse.From(agent), StatusCodes.Status201Created, ct);
    }
}
