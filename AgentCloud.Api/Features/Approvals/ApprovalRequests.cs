using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Llm;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Approvals;

/// <param name="NextCursor">The cursor of the next page, null on the last.</param>
public sealed record ApprovalList(IReadOnlyList<ApprovalView> Items, string? NextCursor)
{
    /// <summary>The page of rows read with one more than <paramref name="limit"/> (which, when it came, says a page follows).</summary>
    public static ApprovalList Page(IReadOnlyList<ApprovalRow> rows, int limit)
    {
        var (items, next) = Paging.Page(rows, limit, row => Cursors.ForApproval(row.RequestedAt, row.Id));
        return new ApprovalList([.. items.Select(ApprovalView.From)], next);
    }
}

/// <summary>The query of a list: <c>status</c> pending (the default: undecided, of runs not over) or all; <c>limit</c> and
/// <c>cursor</c>, newest first.</summary>
public class ApprovalListQuery : PagedRequest
{
    public const string All = "all";

    /// <summary>pending (the default) or all.</summary>
    [QueryParam]
    public string? Status { get; init; }

    public bool PendingOnly => Status is null or ApprovalDecisions.Pending;

    /// <summary>Where the page starts: after the approval the cursor names (null: the newest).</summary>
    public (DateTime RequestedAt, Guid Id)? After =>
        Cursors.TryReadApproval(Cursor, out var requestedAt, out var id) ? (requestedAt, id) : null;

    protected override int DefaultLimit => 50;
}

public static class ApprovalQueryRules
{
    public static void AddQueryRules<T>(this AbstractValidator<T> validator) where T : ApprovalListQuery
    {
        validator.RuleFor(r => r.Status)
            .Must(status => status is null or ApprovalDecisions.Pending or ApprovalListQuery.All)
            .WithMessage("status must be pending or all.");
        validator.PagingRules(ApprovalStore.MaxListed, cursor => Cursors.TryReadApproval(cursor, out _, out _));
    }
}

/// <summary>A request about one approval of one of the caller's agents.</summary>
public class ApprovalRequest : IAgentRequest
{
    [BindFrom("agent_id")]
    public int AgentId { get; init; }

    [BindFrom("approval_id")]
    public Guid ApprovalId { get; init; }
}
