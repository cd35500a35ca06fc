using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Shared.Callbacks;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Messaging.Behaviors;
using Dapper;
using Npgsql;

namespace AgentCloud.Shared.Llm;

public static class ApprovalDecisions
{
    public const string Approved = "approved";
    public const string Denied = "denied";
    /// <summary>Nobody decided before its expiry: the run treats it as a denial.</summary>
    public const string Expired = "expired";
    /// <summary>Not a stored decision: what the doors show while there is none.</summary>
    public const string Pending = "pending";
}

public sealed class ApprovalRow
{
    public Guid Id { get; init; }
    public Guid MessageId { get; init; }
    public int AgentId { get; init; }
    public Guid Session { get; init; }
    public string CallId { get; init; } = "";
    public string Tool { get; init; } = "";
    public string Arguments { get; init; } = "{}";
    public DateTime RequestedAt { get; init; }
    public DateTime ExpiresAt { get; init; }
    public string? Decision { get; init; }
    public string? DecidedArguments { get; init; }
    public string? Reason { get; init; }
    public int? DecidedByUser { get; init; }
    public int? DecidedByKey { get; init; }
    public string? DecidedVia { get; init; }
    public DateTime? DecidedAt { get; init; }
    /// <summary>The status of the run's message (a pending approval of a canceled run can no longer be decided).</summary>
    public string MessageStatus { get; init; } = "";

    /// <summary>The arguments the tool runs with once approved: the person's edit, else the model's.</summary>
    public JsonObject EffectiveArguments => JsonNode.Parse(DecidedArguments ?? Arguments) as JsonObject ?? [];
}

/// <summary>Who decided an approval: the user, the API key if one was used, and through which door (rest, a2a, console).</summary>
public sealed record ApprovalDecider(int? UserId, int? ApiKeyId, string? Via);

/// <summary>An approval as every door shows it (REST, the SSE events, the webhook's data, the A2A status message).</summary>
/// <param name="Status">pending, approved, denied or expired.</param>
public sealed record ApprovalView(Guid Id, int AgentId, Guid MessageId, Guid Session, string CallId, string Tool, JsonElement Arguments,
    string Status, DateTime RequestedAt, DateTime ExpiresAt, JsonElement? DecidedArguments, string? Reason, ApprovalDecider? DecidedBy,
    DateTime? DecidedAt)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static ApprovalView From(ApprovalRow row) => new(row.Id, row.AgentId, row.MessageId, row.Session, row.CallId, row.Tool,
        Parse(row.Arguments), row.Decision ?? ApprovalDecisions.Pending, Utc(row.RequestedAt), Utc(row.ExpiresAt),
        row.DecidedArguments is null ? null : Parse(row.DecidedArguments), row.Reason,
        row.DecidedAt is null || row.Decision == ApprovalDecisions.Expired ? null : new ApprovalDecider(row.DecidedByUser,
            row.DecidedByKey, row.DecidedVia),
        row.DecidedAt is { } at ? Utc(at) : null);

    public JsonObject ToJson() => (JsonObject)JsonSerializer.SerializeToNode(this, Json)!;

    private static DateTime Utc(DateTime time) => DateTime.SpecifyKind(time, DateTimeKind.Utc);

    private static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}

/// <summary>What became of a decision.</summary>
public enum DecideOutcome
{
    Decided,
    NotFound,
    /// <summary>Decided already (or expired, or its run is over): a second decision changes nothing.</summary>
    AlreadyDecided,
}

/// <summary>
/// The SQL of tool approvals (migration 0110, docs/approvals.md). The worker requests one in the transaction of the run's
/// <c>approval</c> step and parks; a decision (the API) wakes the parked run by moving its deadline to now, the rule
/// <see cref="ParkedRuns.Woken"/> already has, so any worker's claim takes it again as for a reply. The tool's effect is the
/// worker's, committed with the call's <c>tool_call</c> step after the decision: never twice, never before.
/// </summary>
public static class ToolApprovals
{
    private const string Columns =
        """
        t.id, t.message_id, t.agent_id, m.session, t.call_id, t.tool, t.arguments::text AS arguments, t.requested_at, t.expires_at,
        t.decision, t.decided_arguments::text AS decided_arguments, t.reason, t.decided_by_user, t.decided_by_key, t.decided_via,
        t.decided_at, m.status AS message_status
        """;

    private static readonly string Select = $"SELECT {Columns} FROM tool_approvals t JOIN messages m ON m.id = t.message_id";

    /// <summary>
    /// Stores a pending approval in the transaction of the run's <c>approval</c> step, with its <c>approval_requested</c> run event
    /// and the <c>approval.requested</c> webhook deliveries (both true from this commit on). The caller wakes the streams after it.
    /// </summary>
    public static async Task<ApprovalRow> RequestAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id,
        MessageRow message,
        string callId, string tool, JsonObject arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync(new CommandDefinition(
            $"""
            INSERT INTO tool_approvals (id, message_id, agent_id, call_id, tool, arguments, expires_at)
            VALUES (@id, @messageId, @agentId, @callId, @tool, @arguments::jsonb, {MessageTable.Now} + @timeout)
            """,
            new { id, messageId = message.Id, agentId = message.AgentId, callId, tool, arguments = arguments.ToJsonString(), timeout },
            transaction, cancellationToken: cancellationToken));
        var row = (await GetAsync(connection, transaction, message.AgentId, id, cancellationToken))!;
        var shown = ApprovalView.From(row).ToJson().ToJsonString();
        await RunEvents.AppendAsync(connection, message.Id, RunEventTypes.ApprovalRequested, shown, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT callbacks_emit(@agentId, @messageId, @eventType, @data::jsonb)",
            new { agentId = message.AgentId, messageId = message.Id, eventType = CallbackEvents.ApprovalRequested, data = shown },
            transaction, cancellationToken: cancellationToken));
        return row;
    }

    public static async Task<ApprovalRow?> GetAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, int agentId, Guid id,
        CancellationToken cancellationToken) =>
        await connection.QuerySingleOrDefaultAsync<ApprovalRow>(new CommandDefinition(
            $"{Select} WHERE t.id = @id AND t.agent_id = @agentId", new { id, agentId }, transaction,
                cancellationToken: cancellationToken));

    /// <summary>The approvals of one run, in the order they were asked (a model turn's calls together).</summary>
    public static async Task<IReadOnlyList<ApprovalRow>> OfMessageAsync(NpgsqlConnection connection, int agentId, Guid messageId,
        CancellationToken cancellationToken) =>
        (await connection.QueryAsync<ApprovalRow>(new CommandDefinition(
            $"{Select} WHERE t.agent_id = @agentId AND t.message_id = @messageId ORDER BY t.requested_at, t.call_id",
            new { agentId, messageId }, cancellationToken: cancellationToken))).AsList();

    /// <summary>
    /// Marks a pending approval expired once its expiry passed (by the database's clock, as decisions are refused by it), and
    /// returns it as it now stands: expired, decided at the last moment, or still pending (the run's clock ran ahead).
    /// </summary>
    public static async Task<ApprovalRow> ExpireAsync(NpgsqlConnection connection, int agentId, Guid id,
        CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var expired = await connection.ExecuteAsync(new CommandDefinition(
            $"""
            UPDATE tool_approvals SET decision = '{ApprovalDecisions.Expired}', decided_at = {MessageTable.Now}
            WHERE id = @id AND decision IS NULL AND expires_at <= {MessageTable.Now}
            """,
            new { id }, transaction, cancellationToken: cancellationToken));
        var row = (await GetAsync(connection, transaction, agentId, id, cancellationToken))!;
        if (expired == 1)
        {
            await RunEvents.AppendAsync(connection, row.MessageId, RunEventTypes.ApprovalDecided,
                ApprovalView.From(row).ToJson().ToJsonString(),
                cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return row;
    }

    /// <summary>
    /// Decides a pending approval of a run that is not over, once: with its <c>approval_decided</c> run event, and the parked run
    /// woken (its deadline moved to now) in the same transaction. The caller wakes the streams and the workers after it.
    /// </summary>
    /// <returns>The outcome, the approval as it stands, and the seq of its approval_decided run event (0 when not decided now).</returns>
    public static async Task<(DecideOutcome Outcome, ApprovalRow? Row, long DecidedEvent)> DecideAsync(NpgsqlConnection connection,
        int agentId, Guid id,
        bool approve, JsonObject? arguments, string? reason, ApprovalDecider by, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var decided = await connection.ExecuteAsync(new CommandDefinition(
            $"""
            UPDATE tool_approvals t
            SET decision = @decision, decided_arguments = @arguments::jsonb, reason = @reason, decided_by_user = @user,
                decided_by_key = @key, decided_via = @via, decided_at = {MessageTable.Now}
            FROM messages m
            WHERE t.id = @id AND t.agent_id = @agentId AND t.decision IS NULL AND t.expires_at > {MessageTable.Now}
              AND m.id = t.message_id AND m.status IN ('{MessageStatus.Waiting}', '{MessageStatus.Processing}', '{MessageStatus.Failed}',
                  '{MessageStatus.Queued}')
            """,
            new
            {
                id, agentId, decision = approve ? ApprovalDecisions.Approved : ApprovalDecisions.Denied,
                    arguments = arguments?.ToJsonString(),
                reason, user = by.UserId, key = by.ApiKeyId, via = by.Via,
            },
            transaction, cancellationToken: cancellationToken));
        var row = await GetAsync(connection, transaction, agentId, id, cancellationToken);
        if (decided == 0 || row is null)
        {
            await transaction.RollbackAsync(cancellationToken);
            return (row is null ? DecideOutcome.NotFound : DecideOutcome.AlreadyDecided, row, 0);
        }

        // The parked run wakes as for a reply (ParkedRuns.Woken: its deadline passed). A run not parked yet (the request committed,
        // its park not) finds the decision when it parks (WakeIfDecidedAsync).
        await connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE messages SET available_at = {MessageTable.Now} WHERE id = @messageId AND status = '{MessageStatus.Waiting}'",
            new { messageId = row.MessageId }, transaction, cancellationToken: cancellationToken));
        var seq = await RunEvents.AppendAsync(connection, row.MessageId, RunEventTypes.ApprovalDecided,
            ApprovalView.From(row).ToJson().ToJsonString(),
            cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (DecideOutcome.Decided, row, seq);
    }

    /// <summary>
    /// In the park's transaction, after the park's update: a decision that committed before this statement (while the run was
    /// still parking) wakes it now; one after it finds the run waiting and wakes it itself. True when woken.
    /// </summary>
    public static async Task<bool> WakeIfDecidedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid messageId,
        Guid approval,
        CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(new CommandDefinition(
            $"""
            UPDATE messages SET available_at = {MessageTable.Now}
            WHERE id = @messageId AND EXISTS (SELECT 1 FROM tool_approvals WHERE id = @approval AND decision IS NOT NULL)
            """,
            new { messageId, approval }, transaction, cancellationToken: cancellationToken)) == 1;

    /// <summary>
    /// Approvals of the user's agents (of <paramref name="agentIds"/> only, when given), newest first, after
    /// <paramref name="after"/> (keyset: requested_at, then id), at most <paramref name="limit"/>: pending ones of runs not over, or
    /// all.
    /// </summary>
    public static async Task<IReadOnlyList<ApprovalRow>> ListAsync(NpgsqlConnection connection, int userId,
        IReadOnlyCollection<int>? agentIds, bool pendingOnly, (DateTime RequestedAt, Guid Id)? after, int limit,
        CancellationToken cancellationToken) =>
        (await connection.QueryAsync<ApprovalRow>(new CommandDefinition(
            $"""
            {Select} JOIN agents a ON a.id = t.agent_id
            WHERE a.user_id = @userId AND (@agentIds::int[] IS NULL OR t.agent_id = ANY(@agentIds))
              AND (NOT @pendingOnly OR (t.decision IS NULL
                   AND m.status IN ('{MessageStatus.Waiting}', '{MessageStatus.Processing}', '{MessageStatus.Failed}',
                       '{MessageStatus.Queued}')))
              AND (@afterAt::timestamp IS NULL OR (t.requested_at, t.id) < (@afterAt::timestamp, @afterId::uuid))
            ORDER BY t.requested_at DESC, t.id DESC
            LIMIT @limit
            """,
            new
            {
                userId, agentIds = agentIds?.ToArray(), pendingOnly, afterAt = after?.RequestedAt, afterId = after?.Id, limit,
            }, cancellationToken: cancellationToken))).AsList();

    /// <summary>What the doors show of a run waiting for an approval (REST <c>waiting_for</c>, the SSE <c>waiting</c> event).</summary>
    public static JsonObject ShownWait(ApprovalRow row) => new()
    {
        ["kind"] = RunWait.ApprovalKind,
        ["approval_id"] = row.Id.ToString("D"),
        ["call_id"] = row.CallId,
        ["tool"] = row.Tool,
        ["arguments"] = JsonNode.Parse(row.Arguments),
        ["until"] = DateTime.SpecifyKind(row.ExpiresAt, DateTimeKind.Utc).ToString("O"),
    };
}
