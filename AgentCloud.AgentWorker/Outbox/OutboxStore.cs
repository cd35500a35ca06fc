using Dapper;
using Npgsql;

namespace AgentCloud.AgentWorker.Outbox;

/// <summary>An outbound message as the outbox claims it, with what is needed to sign as its agent.</summary>
public sealed class OutboundMessage
{
    public Guid Id { get; init; }
    public int AgentId { get; init; }
    public int? AgentUserId { get; init; }
    public string? AgentAddress { get; init; }
    public string Sender { get; init; } = "";
    public string Target { get; init; } = "";
    public Guid Session { get; init; }
    public string? SchemaDigest { get; init; }
    public string? ProtocolDigest { get; init; }
    public string Payload { get; init; } = "null";
    public int Attempts { get; init; }
    public string? Traceparent { get; init; }
    public DateTime ExpiresAt { get; init; }
    public bool WaitForReply { get; init; }
}

/// <summary>The outbox's SQL. Rows are claimed one by one, not head of line: a dead peer must not hold up the others.</summary>
public static class OutboxStore
{
    private const string Now = "(now() AT TIME ZONE 'utc')";

    /// <summary>
    /// Claims up to <paramref name="limit"/> due outbound rows (sync replies excluded: those are handed back in an
    /// HTTP response), and starts the delivery window of rows claimed the first time.
    /// </summary>
    public static async Task<IReadOnlyList<OutboundMessage>> ClaimAsync(NpgsqlConnection connection, string leaseOwner,
        TimeSpan lease, TimeSpan deliveryWindow, int limit, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<OutboundMessage>(new CommandDefinition(
            $"""
            WITH due AS (
                SELECT id FROM messages
                WHERE direction = 'outbound' AND NOT sync_reply
                  AND ((status IN ('queued', 'failed') AND available_at <= {Now})
                       OR (status = 'processing' AND lease_until <= {Now}))
                ORDER BY available_at
                LIMIT @limit
                FOR UPDATE SKIP LOCKED
            )
            UPDATE messages m
            SET status = 'processing', lease_owner = @leaseOwner, lease_until = {Now} + @lease, attempts = m.attempts + 1,
                expires_at = COALESCE(m.expires_at, m.created_at + @deliveryWindow)
            FROM due, agents a
            WHERE m.id = due.id AND a.id = m.agent_id
            RETURNING m.id, m.agent_id, a.user_id AS agent_user_id, a.address AS agent_address, m.sender, m.target, m.session,
                      m.schema_digest, m.protocol_digest, m.payload::text AS payload, m.attempts, m.traceparent, m.expires_at,
                      m.wait_for_reply
            """,
            new { leaseOwner, lease, deliveryWindow, limit }, cancellationToken: cancellationToken))).AsList();

    public static Task CompleteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, string deliveredTo,
        string? replyJson, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            $"""
            UPDATE messages
            SET status = 'done', delivered_to = @deliveredTo, reply = @replyJson::jsonb, error = NULL, completed_at = {Now},
                lease_owner = NULL, lease_until = NULL
            WHERE id = @id
            """,
            new { id, deliveredTo, replyJson }, transaction, cancellationToken: cancellationToken));
}
