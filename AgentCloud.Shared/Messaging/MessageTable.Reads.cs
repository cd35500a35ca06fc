using Dapper;
using Npgsql;

namespace AgentCloud.Shared.Messaging;

// What a handler and the doors read, and what the doors change (cancel, delete, purge).
public static partial class MessageTable
{
    /// <summary>
    /// The reply to a message a run sent: the inbound message with its <c>in_reply_to</c>, or (a remote uAgent cannot
    /// say what it answers) the next one from that address in the session; acknowledgements are not replies.
    /// </summary>
    public static Task<(Guid Id, string Payload, string? SchemaDigest)?>
        FindReplyAsync(NpgsqlConnection connection, int agentId, Guid sentId,
        long sentSeq, string? target, Guid session, string ackDigest, CancellationToken cancellationToken) =>
        connection.QueryFirstOrDefaultAsync<(Guid Id, string Payload, string? SchemaDigest)?>(new CommandDefinition(
            $"""
            SELECT id, payload::text, schema_digest FROM messages
            WHERE agent_id = @agentId AND {Inbound} AND seq > @sentSeq
              AND (in_reply_to = @sentId OR (in_reply_to IS NULL AND sender = @target AND session = @session))
              AND schema_digest IS DISTINCT FROM @ackDigest
            ORDER BY seq LIMIT 1
            """,
            new { agentId, sentId, sentSeq, target, session, ackDigest }, cancellationToken: cancellationToken));

    /// <summary>A session's messages to the agent (no replies, no acknowledgements) from the senders of <paramref name="space"/>
    /// (<see cref="SenderSpaces"/>), oldest first, the newest <paramref name="limit"/> before <paramref name="beforeSeq"/>.</summary>
    public static async Task<IReadOnlyList<T>> ConversationAsync<T>(NpgsqlConnection connection, int agentId, Guid session, string space,
        long? beforeSeq, int limit, string ackDigest, CancellationToken cancellationToken) =>
        [.. (await connection.QueryAsync<T>(new CommandDefinition(
            $"""
            SELECT id, seq, payload::text AS payload, schema_digest, reply::text AS reply, status
            FROM messages
            WHERE agent_id = @agentId AND {Inbound} AND session = @session AND in_reply_to IS NULL
              AND schema_digest IS DISTINCT FROM @ackDigest AND (@beforeSeq::bigint IS NULL OR seq < @beforeSeq)
              AND {SenderSpaces.Of("sender", "@agentId")} = @space
            ORDER BY seq DESC
            LIMIT @limit
            """,
            new { agentId, session, space, beforeSeq, limit, ackDigest }, cancellationToken: cancellationToken))).Reverse()];


    /// <summary>One message of an agent (whose ownership the caller has checked), of either direction or only
    /// <paramref name="direction"/>.</summary>
    public static Task<MessageRow?> GetAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, int agentId, Guid id,
        string? direction, CancellationToken cancellationToken) =>
        connection.QuerySingleOrDefaultAsync<MessageRow?>(new CommandDefinition(
            $"SELECT {Columns} FROM messages WHERE id = @id AND agent_id = @agentId AND (@direction::text IS NULL OR direction = " +
            $"@direction)",
            new { id, agentId, direction }, transaction, cancellationToken: cancellationToken));

    /// <summary>
    /// An inbound message of any agent of <paramref name="userId"/>, by id alone (the Responses door's response ids name
    /// no agent); null when it is not theirs.
    /// </summary>
    public static Task<MessageRow?> GetOwnedInboundAsync(NpgsqlConnection connection, int userId, Guid id,
        CancellationToken cancellationToken) =>
        connection.QuerySingleOrDefaultAsync<MessageRow?>(new CommandDefinition(
            $"SELECT {Columns} FROM messages WHERE id = @id AND {Inbound} AND agent_id IN (SELECT id FROM agents WHERE user_id = @userId)",
            new { id, userId }, cancellationToken: cancellationToken));

    /// <summary>
    /// The newest key of <paramref name="call"/>'s family that <paramref name="sender"/> stored within its window (index
    /// <c>messages_by_retry_family</c>), or null: the key a retry repeats to find its earlier attempt's message.
    /// </summary>
    public static Task<string?> NewestRetryKeyAsync(NpgsqlConnection connection, string sender, RetriedCall call,
        CancellationToken cancellationToken) =>
        connection.QueryFirstOrDefaultAsync<string?>(new CommandDefinition(
            $"""
            SELECT idempotency_key FROM messages
            WHERE sender = @sender AND left(idempotency_key, {RetryKeys.FamilyLength}) = @family
              AND idempotency_key LIKE '{RetryKeys.Prefix}%' AND created_at >= (now() AT TIME ZONE 'utc') - @window
            ORDER BY created_at DESC LIMIT 1
            """,
            new { sender, family = call.Family, window = call.Window }, cancellationToken: cancellationToken));

    /// <summary>Newest first by <c>seq</c>, walking the index <c>messages (agent_id, seq DESC)</c>.</summary>
    public static async Task<IReadOnlyList<MessageRow>> ListAsync(NpgsqlConnection connection, MessageQuery query,
        CancellationToken cancellationToken)
    {
        var conditions = "agent_id = @AgentId"
            + (query.Status is null ? "" : " AND status = @Status")
            + (query.Direction is null ? "" : " AND direction = @Direction")
            + (query.BeforeSeq is null ? "" : " AND seq < @BeforeSeq");
        return (await connection.QueryAsync<MessageRow>(new CommandDefinition(
            $"SELECT {Columns} FROM messages WHERE {conditions} ORDER BY seq DESC LIMIT @Take",
            query, cancellationToken: cancellationToken))).AsList();
    }

    /// <summary>The agent's inbound messages of one session, oldest first (the newest <paramref name="take"/>).</summary>
    public static async Task<IReadOnlyList<MessageRow>> SessionAsync(NpgsqlConnection connection, int agentId, Guid session, int take,
        CancellationToken cancellationToken) =>
        [.. (await connection.QueryAsync<MessageRow>(new CommandDefinition(
            $"SELECT {Columns} FROM messages WHERE agent_id = @agentId AND session = @session AND {Inbound} ORDER BY seq DESC LIMIT @take",
            new { agentId, session, take }, cancellationToken: cancellationToken))).Reverse()];

    /// <summary>A page of the agent's inbound messages, newest first, before <paramref name="beforeSeq"/>; and how many match in
    /// all.</summary>
    public static async Task<(IReadOnlyList<MessageRow> Rows, int Total)> PageAsync(NpgsqlConnection connection, int agentId, Guid? session,
        IReadOnlyList<string>? statuses, long? beforeSeq, int take, CancellationToken cancellationToken)
    {
        var conditions = $"agent_id = @agentId AND {Inbound}"
            + (session is null ? "" : " AND session = @session")
            + (statuses is null ? "" : " AND status = ANY(@statuses)");
        var parameters = new { agentId, session, statuses = statuses?.ToArray(), beforeSeq, take };
        var total = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            $"SELECT count(*)::int FROM messages WHERE {conditions}", parameters, cancellationToken: cancellationToken));
        var rows = await connection.QueryAsync<MessageRow>(new CommandDefinition(
            $"""
            SELECT {Columns} FROM messages
            WHERE {conditions}{(beforeSeq is null ? "" : " AND seq < @beforeSeq")}
            ORDER BY seq DESC LIMIT @take
            """,
            parameters, cancellationToken: cancellationToken));
        return (rows.AsList(), total);
    }

    /// <summary>An agent's conversations with its owner (<see cref="SenderSpaces.Owner"/>) newest first (by their latest message), those
    /// whose latest seq is below <paramref name="beforeSeq"/>.</summary>
    public static async Task<IReadOnlyList<T>> ConversationsAsync<T>(NpgsqlConnection connection, int agentId, long? beforeSeq, int take,
        CancellationToken cancellationToken) =>
        (await connection.QueryAsync<T>(new CommandDefinition(
            $"""
            SELECT session, count(*)::int AS messages, min(created_at) AS startedat, max(created_at) AS lastmessageat, max(seq) AS lastseq
            FROM messages
            WHERE agent_id = @agentId AND {Inbound} AND in_reply_to IS NULL
              AND {SenderSpaces.Of("sender", "@agentId")} = '{SenderSpaces.Owner}'
            GROUP BY session
            HAVING @beforeSeq::bigint IS NULL OR max(seq) < @beforeSeq
            ORDER BY max(seq) DESC
            LIMIT @take
            """,
            new { agentId, beforeSeq, take }, cancellationToken: cancellationToken))).AsList();

    /// <summary>Deletes one message of an agent; false when there is none. A worker holding it finds no row at its fence and commits
    /// nothing.</summary>
    public static async Task<bool> DeleteAsync(NpgsqlConnection connection, int agentId, Guid id, CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM messages WHERE id = @id AND agent_id = @agentId",
            new { id, agentId }, cancellationToken: cancellationToken)) > 0;

    /// <summary>Deletes every message of an agent in <paramref name="status"/> (both directions); how many went.</summary>
    public static Task<int> PurgeAsync(NpgsqlConnection connection, int agentId, string status, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM messages WHERE agent_id = @agentId AND status = @status",
            new { agentId, status }, cancellationToken: cancellationToken));

    /// <summary>Withdraws an unfinished inbound message (a running one's fence stops holding); null when there is none.</summary>
    public static Task<MessageRow?> CancelAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int agentId, Guid id,
        CancellationToken cancellationToken) =>
        connection.QuerySingleOrDefaultAsync<MessageRow?>(new CommandDefinition(
            $"""
            UPDATE messages
            SET status = '{MessageStatus.Canceled}', error = 'canceled by its sender', completed_at = {Now}, {ReleaseLease}
            WHERE id = @id AND agent_id = @agentId AND {Inbound} AND ({Pending} OR status = '{MessageStatus.Waiting}')
            RETURNING {Columns}
            """,
            new { id, agentId },
            transaction, cancellationToken: cancellationToken));
}
