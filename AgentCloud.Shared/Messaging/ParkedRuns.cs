using System.Text.Json.Nodes;
using AgentCloud.Shared.Messaging.Behaviors;
using AgentCloud.Shared.UAgents;
using Dapper;
using Npgsql;

namespace AgentCloud.Shared.Messaging;

/// <summary>
/// The SQL of runs that wait (migration 0080; docs/llm-agents.md, "Runs that wait"). A parked message is
/// <c>waiting</c>: no lease, its deadline in <c>available_at</c>, what wakes it in <c>awaits*</c>. It stays its agent's
/// head of line: the claim (<see cref="MessageTable.ClaimInboundAsync"/>) takes it again once it is <see cref="Woken"/>, and
/// meanwhile lets in only the agent's messages whose call chain holds one of its waiting runs (<see cref="NextOfWaitingAgent"/>).
/// </summary>
public static class ParkedRuns
{
    private const string Waiting = MessageStatus.Waiting;

    /// <summary>Whether agent <paramref name="agent"/> (an SQL expression) has a waiting run: one probe of messages_waiting.</summary>
    public static string HasWaiting(string agent) =>
        $"EXISTS (SELECT 1 FROM messages w WHERE w.status = '{Waiting}' AND w.agent_id = {agent})";

    /// <summary>
    /// Whether what the waiting row <paramref name="w"/> waits for has come: its deadline, or a reply to the message it
    /// sent (or, from a remote uAgent, the next message from that address in its session): the rule of
    /// <see cref="MessageTable.FindReplyAsync"/>, on messages_by_session.
    /// </summary>
    public static string Woken(string w) =>
        $"""
        ({w}.available_at <= {MessageTable.Now} OR EXISTS (
            SELECT 1 FROM messages r
            WHERE r.agent_id = {w}.agent_id AND r.session = {w}.session AND r.seq > {w}.awaits_after
              AND r.direction = '{MessageDirection.Inbound}'
              AND (r.in_reply_to = {w}.awaits OR (r.in_reply_to IS NULL AND r.sender = {w}.awaits_from))
              AND r.schema_digest IS DISTINCT FROM '{MessageModels.ChatAcknowledgement.Digest}'))
        """;

    /// <summary>
    /// The oldest woken waiting run of agent <paramref name="agent"/>, else the oldest due message of its waiting runs' call
    /// chains (A asks B, B asks A: B's message goes in while A's run waits); null when it has neither.
    /// </summary>
    public static string NextOfWaitingAgent(string agent) =>
        $"""
        COALESCE(
            (SELECT w.id FROM messages w WHERE w.status = '{Waiting}' AND w.agent_id = {agent} AND {Woken("w")} ORDER BY w.seq LIMIT 1),
            (SELECT c.id FROM messages c
             WHERE c.direction = '{MessageDirection.Inbound}' AND c.status IN ('{MessageStatus.Queued}', '{MessageStatus.Failed}')
               AND c.agent_id = {agent} AND c.available_at <= {MessageTable.Now} AND c.call_chain IS NOT NULL
               AND c.call_chain && ARRAY(SELECT w.id FROM messages w WHERE w.status = '{Waiting}' AND w.agent_id = {agent})
             ORDER BY c.seq LIMIT 1))
        """;

    /// <summary>
    /// Waiting runs whose deadline passed, of agents with nothing in flight: the claim's second source of heads (an agent
    /// whose run waits for a reply that never came may have nothing else pending).
    /// </summary>
    public const string TimedOut =
        $"""
        SELECT w.id FROM messages w
        WHERE w.status = '{Waiting}' AND w.available_at <= {MessageTable.Now}
          AND NOT EXISTS (SELECT 1 FROM messages p
                          WHERE p.direction = '{MessageDirection.Inbound}' AND p.status = '{MessageStatus.Processing}' AND p.agent_id =
                              w.agent_id)
        ORDER BY w.available_at
        """;

    /// <summary>
    /// Parks the fenced message: <c>waiting</c> with what it waits for, its lease released, this attempt not counted (a
    /// park is no failure; the claim that resumes it counts one again). True when what it waits for has already come.
    /// </summary>
    public static async Task<bool> ParkAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, MessageRow message, RunWait wait,
        CancellationToken cancellationToken)
    {
        var woken = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            $"""
            UPDATE messages m
            SET status = '{Waiting}', lease_owner = NULL, lease_until = NULL, attempts = GREATEST(m.attempts - 1, 0),
                available_at = @until, waiting_for = @shown::jsonb, awaits = @awaits, awaits_from = @awaitsFrom, awaits_after = @awaitsAfter
            WHERE m.id = @id
            RETURNING {Woken("m")}
            """,
            new
            {
                id = message.Id, until = wait.Until, shown = wait.Shown.ToJsonString(), awaits = wait.Awaits, awaitsFrom = wait.AwaitsFrom,
                awaitsAfter = wait.AwaitsAfter,
            },
            transaction, cancellationToken: cancellationToken));
        return wait.Approval is { } approval
            ? await Llm.ToolApprovals.WakeIfDecidedAsync(connection, transaction, message.Id, approval, cancellationToken) || woken
            : woken;
    }

    /// <summary>
    /// Marks a reply the run took into its steps done, in the step's transaction, so it is never handled behind the run.
    /// False when it was done (or canceled) already.
    /// </summary>
    public static async Task<bool> TakeReplyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid replyId,
        CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(new CommandDefinition(
            $"""
            UPDATE messages SET status = '{MessageStatus.Done}', completed_at = {MessageTable.Now}, attempts = attempts + 1, error = NULL
            WHERE id = @replyId AND status IN ('{MessageStatus.Queued}', '{MessageStatus.Failed}')
            """,
            new { replyId }, transaction, cancellationToken: cancellationToken)) == 1;

    /// <summary>What the doors show of a waiting message (REST <c>waiting_for</c>, the SSE <c>waiting</c> event).</summary>
    public static JsonObject ShownReplyWait(Guid sent, string from, DateTime until) => new()
    {
        ["kind"] = RunWait.Reply,
        ["message_id"] = sent.ToString("D"),
        ["from"] = from,
        ["until"] = DateTime.SpecifyKind(until, DateTimeKind.Utc).ToString("O"),
    };
}
