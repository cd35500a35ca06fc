using AgentCloud.Shared.Messaging;
using Dapper;
using Npgsql;

namespace AgentCloud.AgentWorker.Messaging;

/// <summary>The worker's SQL on the inbox: claim, fence, finish. See docs/messaging.md for the protocol.</summary>
public static class Inbox
{
    private const string Now = "(now() AT TIME ZONE 'utc')";

    /// <summary>
    /// Claims up to <paramref name="batchSize"/> due heads of line, one statement, so the claim commits at
    /// once. An agent's head is the message it is handling (one at a time), else its owner's lowest pending
    /// seq (the owner's lane), else its lowest pending seq: each lane keeps its order, and a remote flood
    /// never stands in front of the owner. The heads come from a skip scan of the pending index
    /// (one probe per agent with work, however deep the queues), not a scan of every pending row. The
    /// due test sits on the locked row itself: under READ COMMITTED a row another worker claimed or
    /// finished since our snapshot is re-checked after the lock and dropped, so nobody takes a message
    /// that is no longer a due head.
    /// </summary>
    public static async Task<IReadOnlyList<MessageRow>> ClaimAsync(NpgsqlConnection connection, string leaseOwner,
        TimeSpan lease, int batchSize, CancellationToken cancellationToken)
    {
        try
        {
            return await ClaimHeadsAsync(connection, leaseOwner, lease, batchSize, cancellationToken);
        }
        catch (PostgresException exception) when (exception is { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: OneInFlight })
        {
            // Our snapshot predates another worker's claim on one of these agents: the next claim sees it.
            return [];
        }
    }

    private const string OneInFlight = "messages_one_in_flight";

    private static async Task<IReadOnlyList<MessageRow>> ClaimHeadsAsync(NpgsqlConnection connection, string leaseOwner,
        TimeSpan lease, int batchSize, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<MessageRow>(new CommandDefinition(
            $"""
            WITH RECURSIVE pending_agents AS (
                (SELECT agent_id FROM messages
                 WHERE direction = 'inbound' AND status IN ('queued', 'processing', 'failed')
                 ORDER BY agent_id LIMIT 1)
                UNION ALL
                SELECT (SELECT m.agent_id FROM messages m
                        WHERE m.direction = 'inbound' AND m.status IN ('queued', 'processing', 'failed') AND m.agent_id > p.agent_id
                        ORDER BY m.agent_id LIMIT 1)
                FROM pending_agents p
                WHERE p.agent_id IS NOT NULL
            ),
            heads AS (
                SELECT COALESCE(
                    (SELECT m.id FROM messages m
                     WHERE m.direction = 'inbound' AND m.status = 'processing' AND m.agent_id = p.agent_id),
                    (SELECT m.id FROM messages m
                     WHERE m.direction = 'inbound' AND m.status IN ('queued', 'processing', 'failed') AND m.agent_id = p.agent_id
                       AND m.sender LIKE 'user:%'
                     ORDER BY m.seq LIMIT 1),
                    (SELECT m.id FROM messages m
                     WHERE m.direction = 'inbound' AND m.status IN ('queued', 'processing', 'failed') AND m.agent_id = p.agent_id
                     ORDER BY m.seq LIMIT 1)) AS id
                FROM pending_agents p
                WHERE p.agent_id IS NOT NULL
            ),
            claimable AS (
                SELECT m.id AS claimed_id
                FROM messages m
                JOIN heads h ON h.id = m.id
                WHERE (m.status IN ('queued', 'failed') AND m.available_at <= {Now})
                   OR (m.status = 'processing' AND m.lease_until <= {Now})
                ORDER BY m.seq
                LIMIT @batchSize
                FOR UPDATE OF m SKIP LOCKED
            )
            UPDATE messages
            SET status = 'processing', lease_owner = @leaseOwner, lease_until = {Now} + @lease, attempts = attempts + 1
            FROM claimable
            WHERE id = claimable.claimed_id
            RETURNING {Messages.Columns}
            """,
            new { leaseOwner, lease, batchSize }, cancellationToken: cancellationToken))).AsList();

    public sealed record Agent(int Id, string? Address, string Config);

    /// <summary>The agent that owns a message; a NULL config reads as <c>{}</c>.</summary>
    public static Task<Agent?> LoadAgentAsync(NpgsqlConnection connection, int agentId, CancellationToken cancellationToken) =>
        connection.QuerySingleOrDefaultAsync<Agent>(new CommandDefinition(
            "SELECT id, address, COALESCE(config, '{}'::jsonb)::text AS config FROM agents WHERE id = @agentId",
            new { agentId }, cancellationToken: cancellationToken));

    /// <summary>
    /// Locks the message if it is still ours to finish. False when the lease was taken over (or the
    /// message is gone): the caller must then commit nothing, the new owner handles it.
    /// </summary>
    public static async Task<bool> FenceAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id,
        string leaseOwner, CancellationToken cancellationToken) =>
        await connection.ExecuteScalarAsync<int?>(new CommandDefinition(
            "SELECT 1 FROM messages WHERE id = @id AND lease_owner = @leaseOwner AND status = 'processing' FOR UPDATE",
            new { id, leaseOwner }, transaction, cancellationToken: cancellationToken)) is not null;

    /// <summary>Marks the message done with its reply; returns the milliseconds from accepted to done.</summary>
    public static Task<double> CompleteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id,
        string? replyJson, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<double>(new CommandDefinition(
            $"""
            UPDATE messages
            SET status = 'done', reply = @replyJson::jsonb, error = NULL, completed_at = {Now},
                lease_owner = NULL, lease_until = NULL
            WHERE id = @id
            RETURNING EXTRACT(EPOCH FROM completed_at - created_at)::float8 * 1000
            """,
            new { id, replyJson }, transaction, cancellationToken: cancellationToken));

    /// <summary>Gives the lease back and makes the message due again after <paramref name="delay"/>.</summary>
    public static Task RetryLaterAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, TimeSpan delay,
        string error, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            $"""
            UPDATE messages
            SET status = 'failed', available_at = {Now} + @delay, error = @error, lease_owner = NULL, lease_until = NULL
            WHERE id = @id
            """,
            new { id, delay, error }, transaction, cancellationToken: cancellationToken));

    public static Task MarkDeadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, string error,
        CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            $"""
            UPDATE messages
            SET status = 'dead', error = @error, completed_at = {Now}, lease_owner = NULL, lease_until = NULL
            WHERE id = @id
            """,
            new { id, error }, transaction, cancellationToken: cancellationToken));

    /// <summary>Tells <c>?wait=</c> callers (through NOTIFY, so only once this commits) that a message is done or dead.</summary>
    public static Task NotifyFinishedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id,
        CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_notify(@channel, @id)",
            new { channel = NotifyChannels.MessageFinished, id = id.ToString("D") }, transaction, cancellationToken: cancellationToken));

    /// <summary>Inbound messages not finished yet (the partial index holds exactly these).</summary>
    public static Task<long> CountPendingAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM messages WHERE direction = 'inbound' AND status IN ('queued', 'processing', 'failed')",
            cancellationToken: cancellationToken));
}
