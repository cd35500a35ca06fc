using System.Text.Json.Nodes;
using AgentCloud.Shared.Llm;
using AgentCloud.Shared.Messaging;
using Npgsql;

namespace AgentCloud.Api.Features.Approvals;

/// <summary>
/// The owner's side of tool approvals (the worker's is AgentWorker/Llm/ApprovalGate.cs; the SQL is <see cref="ToolApprovals"/>).
/// Callers check that the agent is the caller's. A decision wakes the streams of the run and the workers' claim loops.
/// </summary>
public sealed class ApprovalStore(NpgsqlDataSource dataSource, Wakeups wakeups)
{
    public const int MaxListed = 200;

    public async Task<IReadOnlyList<ApprovalRow>> ListAsync(int userId, IReadOnlyCollection<int>? agentIds, bool pendingOnly,
        (DateTime RequestedAt, Guid Id)? after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await ToolApprovals.ListAsync(connection, userId, agentIds, pendingOnly, after, Math.Clamp(limit, 1, MaxListed + 1),
            cancellationToken);
    }

    public async Task<ApprovalRow?> GetAsync(int agentId, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await ToolApprovals.GetAsync(connection, null, agentId, id, cancellationToken);
    }

    public async Task<IReadOnlyList<ApprovalRow>> OfMessageAsync(int agentId, Guid messageId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await ToolApprovals.OfMessageAsync(connection, agentId, messageId, cancellationToken);
    }

    /// <returns>The outcome, the approval as it stands, and (when decided now) the seq of its approval_decided event.</returns>
    public async Task<(DecideOutcome Outcome, ApprovalRow? Row, long? DecidedEvent)> DecideAsync(int agentId, Guid id, bool approve,
        JsonObject? arguments, string? reason, ApprovalDecider by, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var (outcome, row, seq) = await ToolApprovals.DecideAsync(connection, agentId, id, approve, arguments, reason, by,
            cancellationToken);
        if (outcome == DecideOutcome.Decided)
        {
            wakeups.Post(RunEvents.Channel, row!.MessageId.ToString("D"));
            wakeups.Post(NotifyChannels.Inbox, agentId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return (outcome, row, outcome == DecideOutcome.Decided ? seq : null);
    }
}

public static class ApprovalProblems
{
    public static IResult NotFound() => Infrastructure.ProblemResponses.Problem(StatusCodes.Status404NotFound, "Approval not found.");

    public static IResult AlreadyDecided(ApprovalRow row) => Infrastructure.ProblemResponses.Problem(StatusCodes.Status409Conflict,
        row.Decision switch
        {
            ApprovalDecisions.Expired => "This approval expired; its run went on as if denied.",
            null when row.ExpiresAt <= DateTime.UtcNow => "This approval expired; its run goes on as if denied.",
            null => "This approval's run is over (canceled, dead or deleted); it can no longer be decided.",
            _ => $"This approval was decided already ({row.Decision}).",
        });
}
