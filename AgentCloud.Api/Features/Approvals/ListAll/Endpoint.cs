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
            s.Description = "Cursor paginated: limit (1 to 200, 50 by default) and the next_cursor of the previous page.";
            s.Responses[200] = "The approvals.";
            s.Responses[400] = "A bad status, limit or cursor.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var rows = await approvals.ListAsync(User.UserId(), User.AllowedAgents(), request.PendingOnly, request.After,
            request.ParsedLimit + 1, ct);
        await Send.OkAsync(ApprovalList.Page(rows, request.ParsedLimit), ct);
    }
}
