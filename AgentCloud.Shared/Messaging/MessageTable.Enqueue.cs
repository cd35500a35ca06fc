using AgentCloud.Shared.Data;
using Dapper;
using Npgsql;

namespace AgentCloud.Shared.Messaging;

// Enqueue: every INSERT into messages (an owner's send, a handler's sends, envelopes off the wire).
public static partial class MessageTable
{
    /// <summary>
    /// Queues a message in the caller's transaction, or (<paramref name="transaction"/> null) in a commit of its own
    /// (<see cref="Wakeups.Queued"/> wakes its handler after the commit). A repeat of a
    /// <see cref="NewMessage.DedupKey"/> (the envelope's identity) or of the sender's <see cref="NewMessage.IdempotencyKey"/>
    /// stores nothing and returns the first copy (<c>Duplicate</c> true). <paramref name="riding"/> (such as the day's count of
    /// the sender's quota) shares the insert's round trip; its results are read only when the insert stored the message.
    /// </summary>
    public static async Task<(MessageRow Message, bool Duplicate)> EnqueueAsync(NpgsqlConnection connection,
        NpgsqlTransaction? transaction, NewMessage message, CancellationToken cancellationToken, RidingStatements? riding = null)
    {
        object parameters = new
        {
            message.AgentId, message.Direction, message.Sender, message.Target, message.Session,
            message.SchemaDigest, message.ProtocolDigest, message.PayloadJson, message.InReplyTo,
            message.Hops, message.DedupKey, message.IdempotencyKey, message.Traceparent, message.SenderWaits, message.PostSync,
            message.CallChain,
            expiresAt = message.ExpiresAt is { } expires ? DateTime.SpecifyKind(expires, DateTimeKind.Unspecified) : (DateTime?)null,
        };

        // No conflict target: either unique key (envelope identity or client key) makes it a repeat.
        var inserted = await connection.QueryPreparedMultipleAsync(
            $"""
            INSERT INTO messages (agent_id, direction, sender, target, session, schema_digest, protocol_digest, payload, in_reply_to,
                                  hops, dedup_key, idempotency_key, traceparent, expires_at, sender_waits, post_sync, call_chain)
            VALUES (@AgentId, @Direction, @Sender, @Target, @Session, @SchemaDigest, @ProtocolDigest, @PayloadJson::jsonb, @InReplyTo,
                    @Hops, @DedupKey, @IdempotencyKey, @Traceparent, @expiresAt, @SenderWaits, @PostSync, @CallChain)
            ON CONFLICT DO NOTHING
            RETURNING {Columns};
            {riding?.Sql}
            """,
            riding is null ? [parameters] : [parameters, riding.Parameters], transaction,
            async results =>
            {
                var row = await results.ReadSingleOrDefaultAsync<MessageRow>();
                if (row is not null && riding is not null)
                {
                    await riding.ReadAsync(results);
                }

                return row;
            },
            cancellationToken);

        if (inserted is not null)
        {
            return (inserted, false);
        }

        // Under READ COMMITTED this statement sees the conflicting row, committed by the time the insert gave way.
        var existing = await connection.QuerySingleAsync<MessageRow>(new CommandDefinition(
            message.IdempotencyKey is not null
                ? $"SELECT {Columns} FROM messages WHERE sender = @Sender AND idempotency_key = @IdempotencyKey"
                : $"SELECT {Columns} FROM messages WHERE agent_id = @AgentId AND direction = @Direction AND dedup_key = @DedupKey",
            new { message.AgentId, message.Direction, message.DedupKey, message.Sender, message.IdempotencyKey },
            transaction, cancellationToken: cancellationToken));
        return (existing, true);
    }

    /// <summary>The most envelopes <see cref="EnqueueEnvelopesAsync"/> takes at once.</summary>
    public const int MaxEnvelopesPerStatement = 32;

    /// <summary>
    /// Queues envelopes that came over the wire into their agents' inboxes, many in one round trip and one commit, with no
    /// transaction of the caller's (PostgreSQL runs the round trip as one implicit transaction), in the order given. Each
    /// has its envelope's identity as its <see cref="NewMessage.DedupKey"/>: a repeat (of a stored envelope, or of one earlier
    /// in the same call) stores nothing and finds the first copy (<c>Duplicate</c> true). One result per message, in order.
    /// </summary>
    public static Task<IReadOnlyList<(MessageRow Message, bool Duplicate)>> EnqueueEnvelopesAsync(NpgsqlConnection connection,
        IReadOnlyList<NewMessage> messages, CancellationToken cancellationToken)
    {
        var ids = messages.Select(_ => Guid.NewGuid()).ToArray();
        // The insert gives way to any copy, committed or not yet (it waits for that one's commit); the look-up that follows
        // in the same transaction sees the copy that stayed, ours or the first.
        return connection.QueryPreparedMultipleAsync(
            $"""
            INSERT INTO messages (id, agent_id, direction, sender, target, session, schema_digest, protocol_digest, payload, dedup_key,
                                  traceparent, expires_at, sender_waits)
            SELECT id, agent_id, '{MessageDirection.Inbound}', sender, target, session, schema_digest, protocol_digest, payload::jsonb,
                   dedup_key, traceparent, expires_at, sender_waits
            FROM unnest(@ids::uuid[], @agentIds::int[], @senders::text[], @targets::text[], @sessions::uuid[], @schemaDigests::text[],
                        @protocolDigests::text[], @payloads::text[], @dedupKeys::bpchar[], @traceparents::text[], @expiresAt::timestamp[],
                        @senderWaits::bool[])
                 WITH ORDINALITY AS e(id, agent_id, sender, target, session, schema_digest, protocol_digest, payload, dedup_key,
                                      traceparent, expires_at, sender_waits, number)
            ORDER BY number
            ON CONFLICT DO NOTHING;
            SELECT found.* FROM unnest(@agentIds::int[], @dedupKeys::bpchar[]) WITH ORDINALITY AS k(agent, identity, number)
            CROSS JOIN LATERAL (SELECT {Columns} FROM messages WHERE {Inbound} AND agent_id = k.agent AND dedup_key = k.identity) AS found
            ORDER BY k.number
            """,
            [new
            {
                ids,
                agentIds = messages.Select(m => m.AgentId).ToArray(),
                senders = messages.Select(m => m.Sender).ToArray(),
                targets = messages.Select(m => m.Target).ToArray(),
                sessions = messages.Select(m => m.Session).ToArray(),
                schemaDigests = messages.Select(m => m.SchemaDigest).ToArray(),
                protocolDigests = messages.Select(m => m.ProtocolDigest).ToArray(),
                payloads = messages.Select(m => m.PayloadJson).ToArray(),
                dedupKeys = messages.Select(m => m.DedupKey ?? throw new
                    ArgumentException("An envelope's message needs its identity as its dedup key.")).ToArray(),
                traceparents = messages.Select(m => m.Traceparent).ToArray(),
                expiresAt = messages.Select(m => m.ExpiresAt is { } expires ? DateTime.SpecifyKind(expires, DateTimeKind.Unspecified)
                    : (DateTime?)null).ToArray(),
                senderWaits = messages.Select(m => m.SenderWaits).ToArray(),
            }],
            null,
            async results =>
            {
                var stored = await results.ReadAsync<MessageRow>();
                if (stored.Count != messages.Count)
                {
                    // Only a delete between the two statements (the agent, or the first copy by its owner) can do this.
                    throw new InvalidOperationException("A stored envelope was deleted before it could be read back.");
                }

                return (IReadOnlyList<(MessageRow, bool)>)[.. stored.Select((row, i) => (row, row.Id != ids[i]))];
            },
            cancellationToken);
    }

    /// <summary>The most sends <see cref="EnqueueForOwnersAsync"/> takes at once.</summary>
    public const int MaxOwnerSendsPerStatement = 32;

    /// <summary>
    /// Queues owners' messages to their agents, many in one statement and one commit, with no transaction of the caller's: the
    /// batch (which PostgreSQL runs as one implicit transaction) takes the users' turns on their days (<paramref name="day"/>),
    /// then one statement checks each send's agent is its user's (locked <c>FOR KEY SHARE</c>, so it cannot be deleted under the
    /// insert), has an address and room in its inbox's owner lane (<paramref name="queueCap"/>, as it was before this statement), and
    /// that the
    /// user's day has room for it in the order given; it inserts those that pass, in that order, and counts them. A repeat of a
    /// sender's idempotency key stores and counts nothing and finds the first copy. Returns one result per send, in order.
    /// </summary>
    public static async Task<IReadOnlyList<OwnerSendResult>> EnqueueForOwnersAsync(NpgsqlConnection connection,
        IReadOnlyList<OwnerSend> sends, int queueCap, DayQuota day, CancellationToken cancellationToken)
    {
        var anyKey = sends.Any(send => send.IdempotencyKey is not null);
        return await connection.QueryPreparedMultipleAsync(
            $"""
            {day.TakeTurns};
            WITH input AS (
                SELECT * FROM unnest(@ids::uuid[], @agentIds::int[], @userIds::int[], @senders::text[], @sessions::uuid[],
                    @payloads::text[],
                                     @keys::text[], @traceparents::text[], @fallbackAddresses::text[])
                    WITH ORDINALITY AS i(id, agent_id, user_id, sender, session, payload, idempotency_key, traceparent, fallback_address, n)
            ),
            agent AS (
                SELECT id, user_id, address, ({OwnerLaneIsFull("agents.id", "agents.user_id")}) AS queue_full
                FROM agents WHERE id = ANY(@agentIds) FOR KEY SHARE
            ),
            day AS (
                SELECT users.user_id, {day.Used("users.user_id")} AS used, {day.Turn("users.user_id")} AS turn
                FROM (SELECT DISTINCT user_id FROM input) AS users
            ),
            checked AS (
                SELECT i.*, a.id IS NOT NULL AS owned, COALESCE(a.address, i.fallback_address) AS address,
                       COALESCE(a.queue_full, false) AS queue_full, d.used, d.turn
                FROM input i LEFT JOIN agent a ON a.id = i.agent_id AND a.user_id = i.user_id JOIN day d ON d.user_id = i.user_id
            ),
            ranked AS (
                SELECT c.*, owned AND address IS NOT NULL AND NOT queue_full AS eligible,
                       count(*) FILTER (WHERE owned AND address IS NOT NULL AND NOT queue_full) OVER (PARTITION BY user_id ORDER BY n) AS
                           rank
                FROM checked c
            ),
            ready AS (SELECT r.*, eligible AND used + rank <= {day.Bound} AS has_room FROM ranked r),
            inserted AS (
                INSERT INTO messages (id, agent_id, direction, sender, target, session, payload, idempotency_key, traceparent)
                SELECT id, agent_id, '{MessageDirection.Inbound}', sender, address, session, payload::jsonb, idempotency_key, traceparent
                FROM ready WHERE has_room
                ORDER BY n
                ON CONFLICT DO NOTHING
                RETURNING {Columns}
            ),
            counted AS ({day.Count("SELECT r.user_id, count(*) AS n FROM inserted m JOIN ready r ON r.id = m.id GROUP BY r.user_id")})
            SELECT r.owned, r.address IS NOT NULL AS has_address, r.queue_full, r.has_room, r.turn, m.*
            FROM ready r LEFT JOIN inserted m ON m.id = r.id
            ORDER BY r.n;
            {(anyKey ? $"""
                SELECT k.n, m.* FROM unnest(@senders::text[], @keys::text[]) WITH ORDINALITY AS k(key_sender, key, n)
                CROSS JOIN LATERAL (SELECT {Columns} FROM messages WHERE sender = k.key_sender AND idempotency_key = k.key) AS m
                """ : "")}
            """,
            [day.Parameters, new
            {
                ids = sends.Select(_ => Guid.NewGuid()).ToArray(),
                agentIds = sends.Select(send => send.AgentId).ToArray(),
                userIds = sends.Select(send => send.UserId).ToArray(),
                senders = sends.Select(send => Senders.User(send.UserId)).ToArray(),
                sessions = sends.Select(send => send.Session).ToArray(),
                payloads = sends.Select(send => send.PayloadJson).ToArray(),
                keys = sends.Select(send => send.IdempotencyKey).ToArray(),
                traceparents = sends.Select(send => send.Traceparent).ToArray(),
                fallbackAddresses = sends.Select(send => send.FallbackAddress).ToArray(),
                cap = queueCap,
            }],
            null,
            async results =>
            {
                await results.ReadAsync<string>();
                var outcomes = await results.ReadSplitAsync<OwnerSendResult, MessageRow>(5);
                foreach (var (result, stored) in outcomes)
                {
                    result.Message = stored;
                    result.Stored = stored is not null;
                }

                // Under READ COMMITTED this statement sees a conflicting row, committed by the time the insert gave way.
                foreach (var (position, first) in anyKey ? await results.ReadSplitAsync<long, MessageRow>(1) : [])
                {
                    outcomes[(int)position - 1].First.Message ??= first;
                }

                return outcomes.Select(outcome => outcome.First).ToList();
            },
            cancellationToken);
    }

    /// <summary>
    /// Queues what a run sends, in the caller's transaction, in one statement and in this order (their <c>seq</c> too), each
    /// under the id it is given. A handler's sends carry no dedup or idempotency key: none of them is a repeat. One with
    /// <see cref="NewMessage.DeadBecause"/> is stored dead at once, after its one attempt (the route that found no endpoint),
    /// so no delivery ever claims it.
    /// </summary>
    public static Task<List<MessageRow>> EnqueueSentAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction,
        IReadOnlyList<(Guid Id, NewMessage Message)> messages, CancellationToken cancellationToken) =>
        connection.QueryPreparedAsync<MessageRow>(
            $"""
            INSERT INTO messages (id, agent_id, direction, sender, target, session, schema_digest, protocol_digest, payload, in_reply_to,
                                  hops, traceparent, expires_at, sender_waits, post_sync, status, error, attempts, completed_at)
            SELECT id, agent_id, direction, sender, target, session, schema_digest, protocol_digest, payload::jsonb, in_reply_to,
                   hops, traceparent, expires_at, sender_waits, post_sync,
                   CASE WHEN dead_because IS NULL THEN '{Queued}' ELSE '{MessageStatus.Dead}' END, dead_because,
                   (dead_because IS NOT NULL)::int, CASE WHEN dead_because IS NOT NULL THEN {Now} END
            FROM unnest(@ids::uuid[], @agentIds::int[], @directions::text[], @senders::text[], @targets::text[], @sessions::uuid[],
                        @schemaDigests::text[], @protocolDigests::text[], @payloads::text[], @inReplyTo::uuid[], @hops::int[],
                        @traceparents::text[], @expiresAt::timestamp[], @senderWaits::bool[], @postSync::bool[], @deadBecause::text[])
                 WITH ORDINALITY AS s(id, agent_id, direction, sender, target, session, schema_digest, protocol_digest, payload,
                                      in_reply_to, hops, traceparent, expires_at, sender_waits, post_sync, dead_because, number)
            ORDER BY number
            RETURNING {Columns}
            """,
            new
            {
                ids = messages.Select(m => m.Id).ToArray(),
                agentIds = messages.Select(m => m.Message.AgentId).ToArray(),
                directions = messages.Select(m => m.Message.Direction).ToArray(),
                senders = messages.Select(m => m.Message.Sender).ToArray(),
                targets = messages.Select(m => m.Message.Target).ToArray(),
                sessions = messages.Select(m => m.Message.Session).ToArray(),
                schemaDigests = messages.Select(m => m.Message.SchemaDigest).ToArray(),
                protocolDigests = messages.Select(m => m.Message.ProtocolDigest).ToArray(),
                payloads = messages.Select(m => m.Message.PayloadJson).ToArray(),
                inReplyTo = messages.Select(m => m.Message.InReplyTo).ToArray(),
                hops = messages.Select(m => m.Message.Hops).ToArray(),
                traceparents = messages.Select(m => m.Message.Traceparent).ToArray(),
                expiresAt = messages.Select(m => m.Message.ExpiresAt is { } expires
                    ? DateTime.SpecifyKind(expires, DateTimeKind.Unspecified) : (DateTime?)null).ToArray(),
                senderWaits = messages.Select(m => m.Message.SenderWaits).ToArray(),
                postSync = messages.Select(m => m.Message.PostSync).ToArray(),
                deadBecause = messages.Select(m => m.Message.DeadBecause).ToArray(),
            },
            transaction, cancellationToken);
}
