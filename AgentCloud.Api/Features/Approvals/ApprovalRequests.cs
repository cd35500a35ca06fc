using System.Globalization;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Llm;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Approvals;

public sealed record ApprovalList(IReadOnlyList<ApprovalView> Items);

/// <summary>The query of a list: <c>status</c> pending (the default: undecided, of runs not over) or all; <c>limit</c>, newest
/// first.</summary>
public class ApprovalListQuery
{
    public const string All = "all";
    public const int DefaultLimit = 50;

    /// <summary>pending (the default) or all.</summary>
    [QueryParam]
    public string? Status { get; init; }

    /// <summary>A whole number from 1 to 200; 50 when left out.</summary>
    [QueryParam]
    public string? Limit { get; init; }

    public bool PendingOnly => Status is null or ApprovalDecisions.Pending;

    public int ParsedLimit => Limit is null ? DefaultLimit : int.Parse(Limit, NumberStyles.None, CultureInfo.InvariantCulture);
}

public static class ApprovalQueryRules
{
    public static void AddQueryRules<T>(this AbstractValidator<T> validator) where T : ApprovalListQuery
    {
        validator.RuleFor(r => r.Status)
            .Must(status => status is null or ApprovalDecisions.Pending or ApprovalListQuery.All)
            .WithMessage("status must be pending or all.");
        validator.RuleFor(r => r.Limit)
            .Must(limit => limit is null
                || int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture,
                    out var value) && value is >= 1 and <= ApprovalStore.MaxListed)
            .WithMessage($"limit must be a whole number from 1 to {ApprovalStore.MaxListed}.");
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
