using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Llm;
using FastEndpoints;

namespace AgentCloud.Api.Features.Approvals.List;

public sealed class Request : ApprovalListQuery, IAgentRequest
{
    [BindFrom("agent_id")]
    public int AgentId { get; init; }

    public sealed class Validator : Validator<Request>
    {
        public Validator() => this.AddQueryRules();
    }
}

public sealed class Endpoint(ApprovalStore approvals) : Endpoint<Request, ApprovalList>
{
    public override void Configure()
    {
        Get("/agents/{agent_id}/approvals");
        Policies(ApiScopes.AgentsRead);
        Summary(s =>
        {
            s.Summary = "The agent's tool calls that wait for a person's approval (status=all: decided and expired ones too), newest first";
            s.Description = "Cursor paginated: limit (1 to 200, 50 by default) and the next_cursor of the previous page.";
            s.Responses[200] = "The approvals.";
            s.Responses[400] = "A bad status, limit or cursor.";
            s.Responses[404] = "No such agent, or not the caller's.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var rows = await approvals.ListAsync(User.UserId(), [request.AgentId], request.PendingOnly, request.After, request.ParsedLimit + 1,
            ct);
        await Send.OkAsync(ApprovalList.Page(rows, request.ParsedLimit), ct);
    }
}
