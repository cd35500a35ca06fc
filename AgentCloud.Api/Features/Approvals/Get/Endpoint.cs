using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Llm;
using FastEndpoints;

namespace AgentCloud.Api.Features.Approvals.Get;

public sealed class Endpoint(ApprovalStore approvals) : Endpoint<ApprovalRequest, ApprovalView>
{
    public override void Configure()
    {
        Get("/agents/{agent_id}/approvals/{approval_id}");
        Policies(ApiScopes.AgentsRead);
        Summary(s =>
        {
            s.Summary = "One approval: the call, and its decision once there is one";
            s.Responses[200] = "The approval.";
            s.Responses[400] = "The approval id is not a UUID.";
            s.Responses[404] = "No such agent or approval, or not the caller's.";
        });
    }

    public override async Task HandleAsync(ApprovalRequest request, CancellationToken ct)
    {
        if (await approvals.GetAsync(request.AgentId, request.ApprovalId, ct) is not { } row)
        {
            await Send.ResultAsync(ApprovalProblems.NotFound());
            return;
        }

        await Send.OkAsync(ApprovalView.From(row), ct);
    }
}
