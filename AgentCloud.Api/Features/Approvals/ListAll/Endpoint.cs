using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Llm;
using FastEndpoints;

namespace AgentCloud.Api.Features.Approvals.ListAll;

public sealed class Request : ApprovalListQuery
{
    public sealed class Validator : Validator<Request>
    {
        public Validator() => this.AddQueryRules();
    }
}

public sealed class Endpoint(ApprovalStore approvals) : Endpoint<Request, ApprovalList>
{
    public override void Configure()
    {
        Get("/approvals");
        Policies(ApiScopes.AgentsRead);
        Summary(s =>
        {
            s.Summary = "The tool calls of all the caller's agents (those an API key may use) that wait for a person's approval, "
                + "newest first";
            s.Responses[200] = "The approvals.";
            s.Responses[400] = "A bad status or limit.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var rows = await approvals.ListAsync(User.UserId(), User.AllowedAgents(), request.PendingOnly, request.ParsedLimit, ct);
        await Send.OkAsync(new ApprovalList([.. rows.Select(ApprovalView.From)]), ct);
    }
}
