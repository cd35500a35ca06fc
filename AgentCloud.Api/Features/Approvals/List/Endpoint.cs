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
            s.Responses[200] = "The approvals.";
            s.Responses[400] = "A bad status or limit.";
            s.Responses[404] = "No such agent, or not the caller's.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var rows = await approvals.ListAsync(User.UserId(), [request.AgentId], request.PendingOnly, request.ParsedLimit, ct);
        await Send.OkAsync(new ApprovalList([.. rows.Select(ApprovalView.From)]), ct);
    }
}
