using AgentCloud.Shared.Data;
using AgentCloud.Shared.UAgents;
using Dapper;
using Npgsql;

namespace AgentCloud.Shared.Messaging;

public static class MessageStatus
{
    public const string Queued = "queued";
    public const string Processing = "processing";
    public const string Done = "done";
    /// <summary>The last attempt failed; another is due at <c>available_at</c>.</summary>
    public const string Failed = "failed";
    /// <summary>Out of attempts: nobody will try again.</summary>
    public const string Dead = "dead";
    /// <summary>Withdrawn by its sender before it finished: nobody will handle it.</summary>
    public const string Canceled = "canceled";

    public static readonly IReadOnlyList<string> All = [Queued, Processing, Done, Failed, Dead, Canceled];

    public static bool IsFinal(string status) => status is Done or Dead or Canceled;
}

public static class MessageDirection
{
    public const string Inbound = "inbound";
    public const string Outbound = "outbound";

    public static readonly IReadOnlyList<string> All = [Inbound, Outbound];
}

/// <summary>PostgreSQL NOTIFY channels. Payloads are ids as text; listeners always re-read the table.</summary>
public static class NotifyChannels
{
    /// <summary>An agent's inbox got a message; payload: the agent id.</summary>
    public const string Inbox = "agent_inbox";
    /// <summary>An outbound message waits for remote delivery; payload: the agent id.</summary>
    public const string Outbox = "agent_outbox";
    /// <summary>A message reached done or dead; payload: the message id.</summary>
    public const string MessageFinished = "message_finished";
    /// <summary>A line was added to an agent's log (a trigger sends it); payload: the agent id.</summary>
    public const string AgentLogs = "agent_logs";
}

/// <summary>Senders that are not agents: the owner, through the API.</summary>
public static class Senders
{
    public const string UserPrefix = "user:";

    public static string User(int userId) => $"{UserPrefix}{userId}";

    public static bool IsUser(string sender) => sender.StartsWith(UserPrefix, StringComparison.Ordinal);
}

public sealed class MessageRow
{
    public Guid Id { get; init; }
    public long Seq { get; init; }
    public int AgentId { get; init; }
    public string Direction { get; init; } = "";
    public string Sender { get; init; } = "";
    public string Target { get; init; } = "";
    public Guid Session { get; init; }
    public string? SchemaDigest { get; init; }
    public string? ProtocolDigest { get; init; }
    public string Payload { get; init; } = "null";
    public string Status { get; init; } = "";
    public int Attempts { get; init; }
    public DateTime AvailableAt { get; init; }
    public string? LeaseOwner { get; init; }
    public DateTime? LeaseUntil { get; init; }
    public string? Reply { get; init; }
    public string? Error { get; init; }
    public Guid? InReplyTo { get; init; }
    public int Hops { get; init; }
    public string? Traceparent { get; init; }
    public DateTime? ExpiresAt { get; init; }
    /// <summary>Inbound: its sender holds the HTTP request open (<c>x-uagents-connection: sync</c>) for the answer.</summary>
    public bool SenderWaits { get; init; }
    public string? DeliveredTo { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; init; }
    public DateTime? CompletedAt { get; init; }

    /// <summary>The W3C trace id (32 hex digits) of the request that sent the message.</summary>
    public string? TraceId => Traceparent is { Length: 55 } parent ? parent.Substring(3, 32) : null;
}

/// <summary>What a sender hands over; the store adds id, seq, status and timestamps.</summary>
public sealed record NewMessage(
    int AgentId,
    string Direction,
    string Sender,
    string Target,
    Guid Session,
    string PayloadJson,
    string? SchemaDigest = null,
    string? ProtocolDigest = null,
    Guid? InReplyTo = null,
    string? Traceparent = null,
    string? DedupKey = null,
    int Hops = 0,
    DateTime? ExpiresAt = null,
    bool SenderWaits = false,
    string? IdempotencyKey = null,
    bool PostSync = false,
    string? DeadBecause = null);

/// <summary>A message of a run, at <paramref name="Position"/> in it, that its handling would answer: see <see cref="Messages.CheckEchoesAsync"/>.</summary>
public sealed record EchoCheck(int Position, string Peer, Guid Session, string? SchemaDigest, string PayloadJson);

/// <summary>Something the message at <paramref name="Position"/> of a run would send (to <paramref name="Target"/>, normalised).</summary>
public sealed record RunSend(int Position, string Target, Guid Session, string? SchemaDigest, string PayloadJson);

/// <summary>
/// An echo check's answer: the rank (1 the newest) of the newest matching message among the last
/// <see cref="Messages.EchoLookBack"/> committed in the agent's outbox and in the peer's inbox here, null when none
/// matches; and which of the run's sends (indexes into the <see cref="RunSend"/> list) before the message match it.
/// </summary>
public sealed class EchoCheckResult
{
    public int Position { get; init; }
    public int? OutboxRank { get; init; }
    public int? PeerInboxRank { get; init; }
    public int[] MatchingRunSends { get; init; } = [];
}

/// <summary>
/// Where a message from an agent goes: into the inbox of an agent hosted here, or its sender's outbox. An outbound route no
/// endpoint source could ever resolve (<see cref="StaticEndpointMap.CanResolve"/>) is <see cref="Unreachable"/>.
/// </summary>
public readonly record struct Route(int AgentId, string Direction, bool Unreachable = false)
{
    public bool IsLocal => Direction == MessageDirection.Inbound;
}

/// <summary>The answer a handler gives a waiting sync sender: a uAgents model, handed back in the open HTTP response.</summary>
public sealed record SyncAnswer(string PayloadJson, string SchemaDigest, string? ProtocolDigest);

/// <summary>One handled inbound message of a run, as <see cref="Messages.CompleteInboundAsync"/> finishes it.</summary>
public sealed record Completion(Guid Id, string? ReplyJson, SyncAnswer? Answer);

/// <summary>
/// One agent's run for <see cref="Messages.CompleteInboundAsync"/>: its messages (the head, under our lease, first), its log
/// lines, and whether to claim its next head (<c>NextId</c>: the one read ahead).
/// </summary>
public sealed record RunCompletion(int AgentId, IReadOnlyList<Completion> Messages, IReadOnlyList<(string Level, string Message)> Lines,
    bool ClaimNext, Guid? NextId);

/// <summary>A run <see cref="Messages.CompleteInboundAsync"/> finished: ms from accepted to done of each message, and the next head it claimed.</summary>
public sealed record CompletedRun(IReadOnlyList<double> Latencies, MessageRow? Next);

/// <summary>
/// Statements that ride in the round trip of another's (<see cref="Messages.EnqueueAsync"/>'s insert, <see cref="Messages.ReadAheadAsync"/>),
/// after it, and read their own results; after an insert they run whether or not it stored anything, so after a repeat the caller rolls back.
/// </summary>
public sealed record RidingStatements(string Sql, object Parameters, Func<PreparedResults, Task> ReadAsync);

/// <summary>
/// The users' day quota in the statement of <see cref="Messages.EnqueueForOwnersAsync"/>: <c>TakeTurns</c> runs first and takes
/// the turn of each user of <c>@userIds</c>; then, for a user id (an expression), <c>Used</c> reads the day's use afresh and
/// <c>Turn</c> is the turn taken, and for a <c>turn</c> column, <c>Bound</c> is what the use may reach on it; <c>Count</c> counts
/// the messages of a query of (user_id, n).
/// </summary>
public sealed record DayQuota(string TakeTurns, Func<string, string> Used, Func<string, string> Turn, string Bound, Func<string, string> Count,
    object Parameters);

/// <summary>An owner's message for <see cref="Messages.EnqueueForOwnersAsync"/>; <c>FallbackAddress</c>: the target when the agent's row has none.</summary>
public sealed record OwnerSend(int UserId, int AgentId, Guid Session, string PayloadJson, string? Traceparent, string? IdempotencyKey,
    string? FallbackAddress = null);

/// <summary>
/// What <see cref="Messages.EnqueueForOwnersAsync"/> did with one send: whether the agent is the user's, has an address and room
/// in its inbox, whether the user's day had room for it (on <c>Turn</c>), and the message: stored now (<c>Stored</c>), or the first
/// copy of a repeated idempotency key, or null.
/// </summary>
public sealed class OwnerSendResult
{
    public bool Owned { get; init; }
    public bool HasAddress { get; init; }
    public bool QueueFull { get; init; }
    public bool HasRoom { get; init; }
    public string? Turn { get; init; }
    public MessageRow? Message { get; set; }
    public bool Stored { get; set; }
}

/// <summary>What <see cref="Messages.ClaimInboundAsync"/> claimed; <c>Wrapped</c>: its scan went past the last agent with work.</summary>
public sealed record InboundClaim(IReadOnlyList<ClaimedHead> Heads, bool Wrapped);

/// <summary>
/// A head of line as <see cref="Messages.ClaimInboundAsync"/> took it: with its agent's address and config (<c>{}</c> for none) as the
/// claim read them, and whether anything else was waiting in its inbox (a head that was alone has no followers to read ahead).
/// </summary>
public sealed record ClaimedHead(MessageRow Message, string? AgentAddress, string AgentConfig, bool HasFollowers);

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
    /// <summary>POSTed with <c>x-uagents-connection: sync</c>; the peer's answer becomes the reply.</summary>
    public bool PostSync { get; init; }
}

/// <summary>What to list of one agent's messages.</summary>
public sealed record MessageQuery(int AgentId, string? Status, string? Direction, long? BeforeSeq, int Take);

/// <summary>
/// The one store of the <c>messages</c> table (inbox and outbox alike): every statement on it is here, so
/// the message's path (enqueue, claim, fence, finish, read) can be followed in one file. Callers own the
/// connection and, where one is passed, the transaction. See docs/messaging.md for the protocol.
/// </summary>
public static class Messages
{
    /// <summary>The database clock in UTC, as every timestamp column holds it.</summary>
    public const string Now = "(now() AT TIME ZONE 'utc')";

    private const string Queued = MessageStatus.Queued;
    private const string Processing = MessageStatus.Processing;
    private const string Failed = MessageStatus.Failed;
    private const string Inbound = $"direction = '{MessageDirection.Inbound}'";
    private const string Outbound = $"direction = '{MessageDirection.Outbound}'";
    /// <summary>Not finished: the partial pending indexes hold exactly these.</summary>
    private const string Pending = $"status IN ('{Queued}', '{Processing}', '{Failed}')";
    // The inbox's lane order, owner first: the second key of index messages_inbox_heads (migration 0072), written as it is.
    private const string Due = $"(status IN ('{Queued}', '{Failed}') AND available_at <= {Now}) OR (status = '{Processing}' AND lease_until <= {Now})";
    private const string OtherLane = $"(sender NOT LIKE '{Senders.UserPrefix}%')";
    private const string ReleaseLease = "lease_owner = NULL, lease_until = NULL";

    public const string Columns =
        """
        id, seq, agent_id, direction, sender, target, session, schema_digest, protocol_digest,
        payload::text AS payload, status, attempts, available_at, lease_owner, lease_until,
        reply::text AS reply, error, in_reply_to, hops, traceparent, expires_at, sender_waits, delivered_to,
        created_at, updated_at, completed_at
        """;

    // ------------------------------------------------------------------ enqueue and routing

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
            expiresAt = message.ExpiresAt is { } expires ? DateTime.SpecifyKind(expires, DateTimeKind.Unspecified) : (DateTime?)null,
        };

        // No conflict target: either unique key (envelope identity or client key) makes it a repeat.
        var inserted = await connection.QueryPreparedMultipleAsync(
            $"""
            INSERT INTO messages (agent_id, direction, sender, target, session, schema_digest, protocol_digest, payload, in_reply_to,
                                  hops, dedup_key, idempotency_key, traceparent, expires_at, sender_waits, post_sync)
            VALUES (@AgentId, @Direction, @Sender, @Target, @Session, @SchemaDigest, @ProtocolDigest, @PayloadJson::jsonb, @InReplyTo,
                    @Hops, @DedupKey, @IdempotencyKey, @Traceparent, @expiresAt, @SenderWaits, @PostSync)
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
                dedupKeys = messages.Select(m => m.DedupKey ?? throw new ArgumentException("An envelope's message needs its identity as its dedup key.")).ToArray(),
                traceparents = messages.Select(m => m.Traceparent).ToArray(),
                expiresAt = messages.Select(m => m.ExpiresAt is { } expires ? DateTime.SpecifyKind(expires, DateTimeKind.Unspecified) : (DateTime?)null).ToArray(),
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
    /// insert), has an address and room in its inbox (<paramref name="queueCap"/>, as it was before this statement), and that the
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
                SELECT * FROM unnest(@ids::uuid[], @agentIds::int[], @userIds::int[], @senders::text[], @sessions::uuid[], @payloads::text[],
                                     @keys::text[], @traceparents::text[], @fallbackAddresses::text[])
                    WITH ORDINALITY AS i(id, agent_id, user_id, sender, session, payload, idempotency_key, traceparent, fallback_address, n)
            ),
            agent AS (
                SELECT id, user_id, address, ({InboxIsFull("agents.id")}) AS queue_full
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
                       count(*) FILTER (WHERE owned AND address IS NOT NULL AND NOT queue_full) OVER (PARTITION BY user_id ORDER BY n) AS rank
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
                expiresAt = messages.Select(m => m.Message.ExpiresAt is { } expires ? DateTime.SpecifyKind(expires, DateTimeKind.Unspecified) : (DateTime?)null).ToArray(),
                senderWaits = messages.Select(m => m.Message.SenderWaits).ToArray(),
                postSync = messages.Select(m => m.Message.PostSync).ToArray(),
                deadBecause = messages.Select(m => m.Message.DeadBecause).ToArray(),
            },
            transaction, cancellationToken);

    /// <summary>
    /// The one routing rule for what an agent sends (<c>/send</c>, replies, forwards): an address in the static map, or
    /// <paramref name="overHttp"/>, goes over HTTP from the sender's outbox; else an agent hosted here gets it in its inbox;
    /// anything else waits in the sender's outbox, <see cref="Route.Unreachable"/> when no endpoint source could ever name it
    /// (the API refuses such a send, a handler's is dead at once with <see cref="NoEndpoint"/>).
    /// </summary>
    public static async Task<Route> RouteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction,
        StaticEndpointMap endpointMap, int senderAgentId, string target, bool overHttp, CancellationToken cancellationToken) =>
        !overHttp && !endpointMap.Contains(target)
            && await FindLocalAgentAsync(connection, transaction, target, cancellationToken) is { } local
            ? new Route(local, MessageDirection.Inbound)
            : new Route(senderAgentId, MessageDirection.Outbound, Unreachable: !endpointMap.CanResolve(target));

    /// <summary>Why a message to <paramref name="target"/>, which no endpoint source could ever resolve, is dead after one attempt.</summary>
    public static string NoEndpoint(string target) =>
        $"no endpoint for {target}: it is not in the static endpoint map and no Almanac is configured";

    /// <summary>Why a send to <paramref name="target"/>, which no endpoint source could ever resolve, is refused before anything is stored.</summary>
    public static string Unresolvable(string target) =>
        $"No endpoint is known for {target}: it is not hosted here, not in the static endpoint map, and no Almanac is configured.";

    /// <summary>The agent hosted here under <paramref name="address"/>, if any.</summary>
    public static Task<int?> FindLocalAgentAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string address,
        CancellationToken cancellationToken) =>
        connection.QueryPreparedSingleOrDefaultAsync<int?>("SELECT id FROM agents WHERE address = @address", new { address }, transaction,
            cancellationToken);

    /// <summary>Whether an agent's <paramref name="direction"/> queue holds <paramref name="cap"/> unfinished messages or more.</summary>
    public static async Task<bool> QueueIsFullAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int agentId, string direction,
        int cap, CancellationToken cancellationToken) =>
        (await connection.QueryPreparedAsync<bool>(direction == MessageDirection.Inbound ? InboxOfParameterIsFull : OutboxIsFull,
            new { agentId, cap }, transaction, cancellationToken)).Single();

    /// <summary>
    /// Whether the inbox of the agent <paramref name="agentId"/> (a column or parameter) holds <c>@cap</c> unfinished
    /// messages. It counts (up to the cap) only when it must: <c>seq</c> is one sequence for every queue, so a queue holds at
    /// most as many messages as have arrived since its oldest unfinished one, a few index probes away; when that is fewer
    /// than the cap, the queue cannot be full. (Counting a backlog of thousands was a few milliseconds a send.) The inbox's
    /// one index of unfinished rows, messages_inbox_heads, keeps each lane in seq order: its oldest is the older of its head
    /// (the owner lane's first, if any) and the other lane's first, one probe each. ("NOT other lane" would not do: the
    /// planner turns it into a LIKE the index cannot answer, and reads every entry of the agent.)
    /// </summary>
    public static string InboxIsFull(string agentId) => FullQueueQuery(
        $"{Inbound} AND agent_id = {agentId} AND {Pending}",
        oldest: $"""
            LEAST((SELECT seq FROM messages WHERE {Inbound} AND agent_id = {agentId} AND {Pending} ORDER BY {OtherLane}, seq LIMIT 1),
                  {OldestOf($"{Inbound} AND agent_id = {agentId} AND {Pending} AND {OtherLane}")})
            """);

    private static readonly string InboxOfParameterIsFull = InboxIsFull("@agentId");

    // The same of an agent's outbox (parameter @agentId), on messages_outbox_by_agent (migration 0076).
    private static readonly string OutboxIsFull = FullQueueQuery($"{Outbound} AND agent_id = @agentId AND {Pending}");

    /// <summary>
    /// Whether the inbox of the agent <paramref name="agentId"/> (a column, for a query on <c>agents</c>) holds <c>@cap</c>
    /// unfinished messages from others than its owner, as <see cref="InboxIsFull"/> decides it.
    /// </summary>
    // Its own text, not a flag of InboxIsFull's: a prepared statement's generic plan cannot see which way a flag goes, and
    // with "(NOT @othersOnly OR …)" and min(seq) it read every pending row of the agent to find the oldest (7 ms at 3,000
    // waiting). Hence also ORDER BY seq LIMIT 1 rather than min(seq).
    public static string InboxOtherLaneIsFull(string agentId) =>
        FullQueueQuery($"{Inbound} AND agent_id = {agentId} AND {Pending} AND {OtherLane}");

    // The queue's oldest seq is its first in seq order, one index probe; the whole inbox, which no index keeps in seq order,
    // says how to find its oldest (see InboxIsFull).
    private static string FullQueueQuery(string queue, string? oldest = null) => $"""
        SELECT COALESCE(
            (SELECT max(seq) FROM messages) - {oldest ?? OldestOf(queue)} >= @cap - 1
            AND (SELECT count(*) FROM (SELECT 1 FROM messages WHERE {queue} LIMIT @cap) AS pending) >= @cap,
            false)
        """;

    private static string OldestOf(string queue) => $"(SELECT seq FROM messages WHERE {queue} ORDER BY seq LIMIT 1)";

    /// <summary>The longest unfinished queue (either direction) of any of the user's agents.</summary>
    public static Task<long> FullestQueueAsync(NpgsqlConnection connection, int userId, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<long>(new CommandDefinition(
            $"""
            SELECT COALESCE(max(n), 0) FROM (
                SELECT count(*) AS n FROM messages m JOIN agents a ON a.id = m.agent_id
                WHERE a.user_id = @userId AND m.{Pending}
                GROUP BY m.agent_id, m.direction) AS queues
            """,
            new { userId }, cancellationToken: cancellationToken));

    /// <summary>Inbound messages not finished yet, all agents (the queue-depth gauge).</summary>
    public static Task<long> CountPendingInboundAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<long>(new CommandDefinition(
            $"SELECT count(*) FROM messages WHERE {Inbound} AND {Pending}", cancellationToken: cancellationToken));

    // ------------------------------------------------------------------ claims

    /// <summary>
    /// Claims up to <paramref name="batchSize"/> due heads of line in one statement. An agent's head is the message
    /// in flight, else its owner lane's lowest pending seq, else its lowest pending seq. The heads come from a skip
    /// scan of the pending index (one probe per agent with work) in agent order, from the first agent after
    /// <paramref name="afterAgent"/>, and the scan stops once the batch is full: a claim costs about as many probes as
    /// it claims, however many agents have work, and a caller that passes the last agent it claimed goes round them
    /// all in turn (<see cref="InboundClaim.Wrapped"/>: the scan reached the last agent, so the next starts from the
    /// first). The due test sits on the locked row, so under READ COMMITTED a row claimed or finished since our
    /// snapshot is re-checked and dropped.
    /// </summary>
    public static async Task<InboundClaim> ClaimInboundAsync(NpgsqlConnection connection, string leaseOwner,
        TimeSpan lease, int batchSize, int afterAgent, CancellationToken cancellationToken)
    {
        try
        {
            // The claim's commit does not wait for the disk: a claim lost to a crash is only a message claimed again, and the
            // completion that commits the handling's effects (and waits for the disk, with every earlier commit) is fenced on it.
            var claimed = await connection.QueryPreparedMultipleAsync(
                $"""
                SELECT set_config('synchronous_commit', 'off', true);
                WITH RECURSIVE pending_agents AS (
                    (SELECT agent_id FROM messages WHERE {Inbound} AND {Pending} AND agent_id > @afterAgent ORDER BY agent_id LIMIT 1)
                    UNION ALL
                    SELECT (SELECT m.agent_id FROM messages m
                            WHERE m.{Inbound} AND m.{Pending} AND m.agent_id > p.agent_id
                            ORDER BY m.agent_id LIMIT 1)
                    FROM pending_agents p
                    WHERE p.agent_id IS NOT NULL
                ),
                heads AS (
                    SELECT COALESCE(
                        (SELECT m.id FROM messages m WHERE m.{Inbound} AND m.status = '{Processing}' AND m.agent_id = p.agent_id),
                        (SELECT m.id FROM messages m WHERE m.{Inbound} AND m.{Pending} AND m.agent_id = p.agent_id
                         ORDER BY {OtherLane}, m.seq LIMIT 1)) AS id
                    FROM pending_agents p
                    WHERE p.agent_id IS NOT NULL
                ),
                -- Each head locked by its own look-up (a subquery with FOR UPDATE is never flattened into a join): as a
                -- join, the planner, counting on a hundred heads, read every pending row of the table in one bitmap scan
                -- instead (20 ms a claim with one agent's 3,000 waiting).
                claimable AS MATERIALIZED (
                    SELECT m.id AS claimed_id
                    FROM heads h, LATERAL (SELECT id FROM messages WHERE id = h.id AND ({Due}) FOR UPDATE SKIP LOCKED) m
                    LIMIT @batchSize
                )
                UPDATE messages
                SET status = '{Processing}', lease_owner = @leaseOwner, lease_until = {Now} + @lease, attempts = attempts + 1
                FROM claimable
                WHERE id = claimable.claimed_id
                RETURNING EXISTS (SELECT 1 FROM messages f WHERE f.{Inbound} AND f.{Pending} AND f.agent_id = messages.agent_id AND f.id <> messages.id)
                              AS has_followers,
                          (SELECT address FROM agents WHERE agents.id = messages.agent_id) AS agent_address,
                          (SELECT config::text FROM agents WHERE agents.id = messages.agent_id) AS agent_config,
                          {Columns}
                """,
                [new { leaseOwner, lease, batchSize, afterAgent }], null,
                async results =>
                {
                    await results.ReadAsync<string>();
                    return await results.ReadSplitAsync<HeadExtras, MessageRow>(3);
                },
                cancellationToken);
            return new InboundClaim([.. claimed.Select(head => new ClaimedHead(head.Second!, head.First.AgentAddress, head.First.AgentConfig ?? "{}",
                head.First.HasFollowers))], Wrapped: claimed.Count < batchSize);
        }
        catch (PostgresException exception) when (exception is { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: "messages_one_in_flight" })
        {
            // Our snapshot predates another worker's claim on one of these agents: the next claim sees it.
            return new InboundClaim([], Wrapped: false);
        }
    }

    private sealed class HeadExtras
    {
        public bool HasFollowers { get; init; }
        public string? AgentAddress { get; init; }
        public string? AgentConfig { get; init; }
    }

    /// <summary>Claims due outbound rows one by one, not head of line (a dead peer holds up nobody); starts their delivery window.</summary>
    public static async Task<IReadOnlyList<OutboundMessage>> ClaimOutboundAsync(NpgsqlConnection connection, string leaseOwner,
        TimeSpan lease, TimeSpan deliveryWindow, int limit, CancellationToken cancellationToken) =>
        await connection.QueryPreparedAsync<OutboundMessage>(
            $"""
            WITH due AS (
                -- available_at <= now holds for every row in flight too (it was due when claimed): so the claim is one
                -- ordered scan of messages_outbox_pending (migration 0073).
                SELECT id FROM messages
                WHERE {Outbound} AND {Pending} AND available_at <= {Now} AND (status <> '{Processing}' OR lease_until <= {Now})
                ORDER BY available_at
                LIMIT @limit
                FOR UPDATE SKIP LOCKED
            )
            UPDATE messages m
            SET status = '{Processing}', lease_owner = @leaseOwner, lease_until = {Now} + @lease, attempts = m.attempts + 1,
                expires_at = COALESCE(m.expires_at, m.created_at + @deliveryWindow)
            FROM due, agents a
            WHERE m.id = due.id AND a.id = m.agent_id
            RETURNING m.id, m.agent_id, a.user_id AS agent_user_id, a.address AS agent_address, m.sender, m.target, m.session,
                      m.schema_digest, m.protocol_digest, m.payload::text AS payload, m.attempts, m.traceparent, m.expires_at, m.post_sync
            """,
            new { leaseOwner, lease, deliveryWindow, limit }, null, cancellationToken);

    // ------------------------------------------------------------------ finishing a claimed message (fenced)

    // A prepared statement that finds one row by id names the status it expects as a parameter, never as a literal: from the
    // literal its generic plan could prove the row is in a partial index of pending rows, and chose to scan that whole index
    // (estimated tiny, thousands of entries under load: 3 to 5 ms) over one probe of the primary key.
    private static readonly string[] Retryable = [Queued, Failed];

    /// <summary>Locks the message if it is still ours to finish; false (commit nothing) when taken over, canceled or deleted.</summary>
    public static async Task<bool> FenceAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id,
        string leaseOwner, CancellationToken cancellationToken) =>
        (await connection.QueryPreparedAsync<int>(
            "SELECT 1 FROM messages WHERE id = @id AND lease_owner = @leaseOwner AND status = @processing FOR UPDATE",
            new { id, leaseOwner, processing = Processing }, transaction, cancellationToken)).Count > 0;

    /// <summary>Pushes the lease forward; false when it is no longer ours.</summary>
    public static async Task<bool> RenewLeaseAsync(NpgsqlConnection connection, Guid id, string leaseOwner, TimeSpan lease,
        CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE messages SET lease_until = {Now} + @lease WHERE id = @id AND lease_owner = @leaseOwner AND status = '{Processing}'",
            new { id, lease, leaseOwner }, cancellationToken: cancellationToken)) == 1;

    /// <summary>
    /// Done, each with its reply and a waiting sync sender's answer (then <see cref="Wakeups.Finished"/>), if they are
    /// still ours to finish: the first of each run, the run's head, under our lease and still processing (the fence); each
    /// other, one the head's lease has kept to us since <see cref="ReadAheadAsync"/> (no other worker claims an agent's
    /// message while its head is in flight), still queued. Null when any was taken over, canceled or deleted: then the
    /// statement fails, so nothing of the round trip stays (with <paramref name="transaction"/> null the round trip is its own
    /// implicit transaction and commit; with a transaction, the caller rolls it back). The same round trip appends each run's
    /// log lines (<see cref="AgentLogs.InsertLines"/>) and, for a run that asks, claims its agent's next due head (the lane
    /// rule of <see cref="ClaimInboundAsync"/>; or <see cref="RunCompletion.NextId"/>, when the caller read it ahead, if it is
    /// still due) under our lease for <paramref name="lease"/>. Several agents' runs complete together (each agent at most
    /// once); one run's lost lease fails them all. Returns, for each run, ms from accepted to done of each of its messages,
    /// and its next message.
    /// </summary>
    public static async Task<IReadOnlyList<CompletedRun>?> CompleteInboundAsync(NpgsqlConnection connection,
        NpgsqlTransaction? transaction, string leaseOwner, IReadOnlyList<RunCompletion> runs, TimeSpan lease,
        CancellationToken cancellationToken)
    {
        var messages = runs.SelectMany(run => run.Messages.Select((done, i) => (Done: done, Head: i == 0))).ToArray();
        var lines = runs.SelectMany(run => run.Lines.Select(line => (run.AgentId, line.Level, line.Message))).ToArray();
        try
        {
            // The log lines' INSERT returns no rows, so it goes last: the reader sees the update's and the claim's rows.
            return await connection.QueryPreparedMultipleAsync(
                $"""
                WITH done AS (
                    UPDATE messages m
                    SET status = '{MessageStatus.Done}', reply = c.reply::jsonb, error = NULL, completed_at = {Now}, {ReleaseLease},
                        attempts = m.attempts + (m.status = '{Queued}')::int,
                        sync_answer = c.answer::jsonb, sync_answer_schema_digest = c.answer_schema, sync_answer_protocol_digest = c.answer_protocol
                    FROM unnest(@ids::uuid[], @heads::bool[], @replies::text[], @answers::text[], @answerSchemas::text[], @answerProtocols::text[])
                        AS c(id, head, reply, answer, answer_schema, answer_protocol)
                    WHERE m.id = c.id
                      AND CASE WHEN c.head THEN m.lease_owner = @leaseOwner AND m.status = '{Processing}' ELSE m.status = '{Queued}' END
                    RETURNING m.id, EXTRACT(EPOCH FROM m.completed_at - m.created_at)::float8 * 1000 AS latency
                ),
                -- Every one of the runs, or the statement fails (migration 0075).
                fence AS (SELECT agentcloud_lease_held(count(*) = cardinality(@ids::uuid[])) FROM done)
                SELECT done.id, done.latency FROM fence LEFT JOIN done ON true;
                {ClaimNextHeads};
                {AgentLogs.InsertLines}
                """,
                [new
                {
                    leaseOwner, lease, retryable = Retryable,
                    ids = messages.Select(m => m.Done.Id).ToArray(),
                    heads = messages.Select(m => m.Head).ToArray(),
                    replies = messages.Select(m => m.Done.ReplyJson).ToArray(),
                    answers = messages.Select(m => m.Done.Answer?.PayloadJson).ToArray(),
                    answerSchemas = messages.Select(m => m.Done.Answer?.SchemaDigest).ToArray(),
                    answerProtocols = messages.Select(m => m.Done.Answer?.ProtocolDigest).ToArray(),
                    nextIds = runs.Where(run => run.ClaimNext && run.NextId is not null).Select(run => run.NextId!.Value).ToArray(),
                    nextOfAgents = runs.Where(run => run.ClaimNext && run.NextId is null).Select(run => run.AgentId).ToArray(),
                    logAgentIds = lines.Select(line => line.AgentId).ToArray(),
                    levels = lines.Select(line => line.Level).ToArray(),
                    messages = lines.Select(line => line.Message).ToArray(),
                }],
                transaction,
                async results =>
                {
                    var latencies = (await results.ReadAsync<Finished>()).ToDictionary(done => done.Id, done => done.Latency);
                    var next = (await results.ReadAsync<MessageRow>()).ToDictionary(row => row.AgentId);
                    return (IReadOnlyList<CompletedRun>)[.. runs.Select(run => new CompletedRun(
                        [.. run.Messages.Select(done => latencies[done.Id])],
                        run.ClaimNext ? next.GetValueOrDefault(run.AgentId) : null))];
                },
                cancellationToken);
        }
        catch (PostgresException exception) when (exception.SqlState == LeaseLostState)
        {
            return null;
        }
    }

    // What agentcloud_lease_held raises (migration 0075).
    private const string LeaseLostState = "AC001";

    private sealed record Finished(Guid Id, double Latency);

    /// <summary>
    /// The agent's messages that come after its <paramref name="head"/> in lane order, up to the first one not due or not
    /// simply queued (a retry waits its turn as the next head), at most <paramref name="limit"/>: the rest of a run that
    /// <see cref="CompleteInboundAsync"/> finishes with the head. Not locked: the head's lease keeps them ours. <paramref name="riding"/>
    /// shares the round trip, after it. (An owner's
    /// message that arrives behind a head of the other lane is not among them: the next claim takes it first.)
    /// </summary>
    public static Task<List<MessageRow>> ReadAheadAsync(NpgsqlConnection connection, MessageRow head, int limit,
        CancellationToken cancellationToken, RidingStatements? riding = null) =>
        connection.QueryPreparedMultipleAsync(
            // After the head as a row comparison on messages_inbox_heads' keys, which makes the index the plan's only
            // sensible choice even when the statistics have not yet seen the agent's flood.
            $"""
            SELECT {Columns} FROM (
                SELECT *, bool_and(status = '{Queued}' AND available_at <= {Now}) OVER (ORDER BY {OtherLane}, seq) AS ready
                FROM (SELECT * FROM messages
                      WHERE {Inbound} AND {Pending} AND agent_id = @agentId AND ({OtherLane}, seq) > (@headOtherLane, @headSeq)
                      ORDER BY {OtherLane}, seq LIMIT @limit) AS next) AS ahead
            WHERE ready
            ORDER BY {OtherLane}, seq;
            {riding?.Sql}
            """,
            [new { agentId = head.AgentId, headOtherLane = !Senders.IsUser(head.Sender), headSeq = head.Seq, limit = Math.Max(limit, 0) },
                .. riding is null ? Array.Empty<object>() : [riding.Parameters]],
            null,
            async results =>
            {
                var ahead = await results.ReadAsync<MessageRow>();
                if (riding is not null)
                {
                    await riding.ReadAsync(results);
                }

                return ahead;
            },
            cancellationToken);

    // Each run's agent's next due head, once the messages it completes are done; see CompleteInboundAsync. The message read
    // ahead as the next head is claimed by id: under a flood the planner, its statistics behind, took the look-up of the
    // next head through messages_by_session and sorted the agent's every row (6 to 13 ms a run). ANY(ARRAY(...)) keeps each
    // a probe of the primary key.
    private const string ClaimNextHeads =
        $"""
        UPDATE messages SET status = '{Processing}', lease_owner = @leaseOwner, lease_until = {Now} + @lease, attempts = attempts + 1
        WHERE id = ANY(ARRAY(
                SELECT unnest(@nextIds::uuid[])
                UNION ALL
                SELECT (SELECT id FROM messages WHERE {Inbound} AND {Pending} AND agent_id = a.agent_id ORDER BY {OtherLane}, seq LIMIT 1)
                FROM unnest(@nextOfAgents::int[]) AS a(agent_id)))
          AND status = ANY(@retryable) AND available_at <= {Now}
        RETURNING {Columns}
        """;

    /// <summary>Marks an outbound message delivered, with the peer's answer to a sync POST (then <see cref="Wakeups.Finished"/>).</summary>
    public static Task CompleteDeliveryAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, string deliveredTo,
        string? replyJson, CancellationToken cancellationToken) =>
        connection.ExecutePreparedAsync(
            $"""
            UPDATE messages
            SET status = '{MessageStatus.Done}', delivered_to = @deliveredTo, reply = @replyJson::jsonb, error = NULL,
                completed_at = {Now}, {ReleaseLease}
            WHERE id = @id
            """,
            new { id, deliveredTo, replyJson },
            transaction, cancellationToken);

    /// <summary>Gives the lease back and makes the message due again after <paramref name="delay"/>.</summary>
    public static Task RetryLaterAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, TimeSpan delay,
        string error, CancellationToken cancellationToken) =>
        connection.ExecutePreparedAsync(
            $"UPDATE messages SET status = '{Failed}', available_at = {Now} + @delay, error = @error, {ReleaseLease} WHERE id = @id",
            new { id, delay, error }, transaction, cancellationToken);

    /// <summary>Nobody will try again: dead with its reason (then <see cref="Wakeups.Finished"/>).</summary>
    public static Task MarkDeadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, string error,
        CancellationToken cancellationToken) =>
        connection.ExecutePreparedAsync(
            $"UPDATE messages SET status = '{MessageStatus.Dead}', error = @error, completed_at = {Now}, {ReleaseLease} WHERE id = @id",
            new { id, error }, transaction, cancellationToken);

    /// <summary>Withdraws an unfinished inbound message (a running one's fence stops holding); null when there is none.</summary>
    public static Task<MessageRow?> CancelAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int agentId, Guid id,
        CancellationToken cancellationToken) =>
        connection.QuerySingleOrDefaultAsync<MessageRow?>(new CommandDefinition(
            $"""
            UPDATE messages
            SET status = '{MessageStatus.Canceled}', error = 'canceled by its sender', completed_at = {Now}, {ReleaseLease}
            WHERE id = @id AND agent_id = @agentId AND {Inbound} AND {Pending}
            RETURNING {Columns}
            """,
            new { id, agentId },
            transaction, cancellationToken: cancellationToken));

    // ------------------------------------------------------------------ the sync answer

    /// <summary>An inbound message's status and, once it is final, the answer its waiting sender gets (null: none).</summary>
    public static Task<SyncState?> SyncStateAsync(NpgsqlConnection connection, Guid id, CancellationToken cancellationToken) =>
        connection.QuerySingleOrDefaultAsync<SyncState?>(new CommandDefinition(
            """
            SELECT status, sync_answer::text AS payload, sync_answer_schema_digest AS schemadigest,
                   sync_answer_protocol_digest AS protocoldigest
            FROM messages WHERE id = @id
            """,
            new { id }, cancellationToken: cancellationToken));

    public sealed record SyncState(string Status, string? Payload, string? SchemaDigest, string? ProtocolDigest);

    /// <summary>Records (once) that the answer went back in the HTTP response; a replayed request gets it again.</summary>
    public static Task MarkAnswerSentAsync(NpgsqlConnection connection, Guid id, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE messages SET sync_answer_sent_at = {Now} WHERE id = @id AND sync_answer_sent_at IS NULL",
            new { id }, cancellationToken: cancellationToken));

    // ------------------------------------------------------------------ what a handler reads

    /// <summary>
    /// The echo checks of a run's messages, in one statement: for each of <paramref name="checks"/> (a message from a peer
    /// that its handling would answer), whether the agent already sent that peer this content in the session, an echo of
    /// ours coming back (which comes back at once). Bounded: the look-back is the last <see cref="EchoLookBack"/> the agent
    /// sent there, in its outbox and (for a peer hosted here) in the peer's inbox, each. It answers for what was committed
    /// before the run, as <see cref="EchoCheckResult"/>'s ranks, and for what the run itself would send
    /// (<paramref name="runSends"/>: whichever of them match each check), so that the caller decides each message in
    /// order as if the messages before it had been sent one by one.
    /// </summary>
    public static Task<List<EchoCheckResult>> CheckEchoesAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, int agentId,
        string address, IReadOnlyList<EchoCheck> checks, IReadOnlyList<RunSend> runSends, string chatDigest, CancellationToken cancellationToken) =>
        connection.QueryPreparedAsync<EchoCheckResult>(
            $"""
            WITH checks AS (
                SELECT c.position, c.peer, c.session, c.chat, c.payload::jsonb AS payload
                FROM unnest(@positions::int[], @peers::text[], @sessions::uuid[], @chats::bool[], @payloads::text[])
                     AS c(position, peer, session, chat, payload)),
            run_sends AS (
                SELECT s.number::int AS number, s.position, s.target, s.session, s.schema_digest, s.payload::jsonb AS payload
                FROM unnest(@sendPositions::int[], @sendTargets::text[], @sendSessions::uuid[], @sendSchemas::text[], @sendPayloads::text[])
                     WITH ORDINALITY AS s(position, target, session, schema_digest, payload, number)),
            -- Each look-back read once for the run, however many of its messages share it (a busy peer's run shares one).
            look_backs AS (SELECT DISTINCT peer, session FROM checks),
            outbox AS MATERIALIZED (
                SELECT l.peer, l.session, sent.*
                FROM look_backs l, LATERAL (
                    SELECT row_number() OVER (ORDER BY seq DESC) AS rank, schema_digest, payload FROM messages
                    WHERE agent_id = @agentId AND {Outbound} AND session = l.session AND sender = @address AND target = l.peer
                    ORDER BY seq DESC LIMIT @lookBack) AS sent),
            -- Only for a peer hosted here (the EXISTS is checked before any scan): with no such agent the planner walked the
            -- whole table backwards by seq looking for agent_id = NULL.
            peer_inbox AS MATERIALIZED (
                SELECT l.peer, l.session, sent.*
                FROM look_backs l, LATERAL (
                    SELECT row_number() OVER (ORDER BY seq DESC) AS rank, schema_digest, payload FROM messages
                    WHERE EXISTS (SELECT 1 FROM agents WHERE address = l.peer)
                      AND agent_id = (SELECT id FROM agents WHERE address = l.peer) AND {Inbound} AND session = l.session
                      AND sender = @address AND target = l.peer
                    ORDER BY seq DESC LIMIT @lookBack) AS sent)
            SELECT c.position,
                   (SELECT min(o.rank) FROM outbox o WHERE o.peer = c.peer AND o.session = c.session AND {Matches("o", "c")})::int AS outbox_rank,
                   (SELECT min(i.rank) FROM peer_inbox i WHERE i.peer = c.peer AND i.session = c.session AND {Matches("i", "c")})::int AS peer_inbox_rank,
                   ARRAY(SELECT s.number - 1 FROM run_sends s
                         WHERE s.position < c.position AND s.target = c.peer AND s.session = c.session AND {Matches("s", "c")}
                         ORDER BY s.number) AS matching_run_sends
            FROM checks c ORDER BY c.position
            """,
            new
            {
                agentId, address, chatDigest, lookBack = EchoLookBack,
                positions = checks.Select(check => check.Position).ToArray(),
                peers = checks.Select(check => check.Peer).ToArray(),
                sessions = checks.Select(check => check.Session).ToArray(),
                chats = checks.Select(check => check.SchemaDigest == chatDigest).ToArray(),
                payloads = checks.Select(check => check.PayloadJson).ToArray(),
                sendPositions = runSends.Select(send => send.Position).ToArray(),
                sendTargets = runSends.Select(send => send.Target).ToArray(),
                sendSessions = runSends.Select(send => send.Session).ToArray(),
                sendSchemas = runSends.Select(send => send.SchemaDigest).ToArray(),
                sendPayloads = runSends.Select(send => send.PayloadJson).ToArray(),
            },
            transaction, cancellationToken);

    // The same content: for a chat message its text (a chat message is new each time it is sent), else the whole payload.
    private static string Matches(string sent, string check) =>
        $"CASE WHEN {check}.chat THEN {sent}.schema_digest = @chatDigest AND {sent}.payload -> 'content' = {check}.payload -> 'content' "
        + $"ELSE {sent}.payload = {check}.payload END";

    /// <summary>How many of its latest messages in a session an agent's echo check looks at.</summary>
    public const int EchoLookBack = 100;

    /// <summary>
    /// The reply to a message a run sent: the inbound message with its <c>in_reply_to</c>, or (a remote uAgent cannot
    /// say what it answers) the next one from that address in the session; acknowledgements are not replies.
    /// </summary>
    public static Task<(Guid Id, string Payload, string? SchemaDigest)?> FindReplyAsync(NpgsqlConnection connection, int agentId, Guid sentId,
        long sentSeq, string target, Guid session, string ackDigest, CancellationToken cancellationToken) =>
        connection.QueryFirstOrDefaultAsync<(Guid Id, string Payload, string? SchemaDigest)?>(new CommandDefinition(
            $"""
            SELECT id, payload::text, schema_digest FROM messages
            WHERE agent_id = @agentId AND {Inbound} AND seq > @sentSeq
              AND (in_reply_to = @sentId OR (in_reply_to IS NULL AND sender = @target AND session = @session))
              AND schema_digest IS DISTINCT FROM @ackDigest
            ORDER BY seq LIMIT 1
            """,
            new { agentId, sentId, sentSeq, target, session, ackDigest }, cancellationToken: cancellationToken));

    /// <summary>A session's messages to the agent (no replies, no acknowledgements), oldest first, the newest <paramref name="limit"/> before <paramref name="beforeSeq"/>.</summary>
    public static async Task<IReadOnlyList<T>> ConversationAsync<T>(NpgsqlConnection connection, int agentId, Guid session, long? beforeSeq,
        int limit, string ackDigest, CancellationToken cancellationToken) =>
        [.. (await connection.QueryAsync<T>(new CommandDefinition(
            $"""
            SELECT id, seq, payload::text AS payload, schema_digest, reply::text AS reply, status
            FROM messages
            WHERE agent_id = @agentId AND {Inbound} AND session = @session AND in_reply_to IS NULL
              AND schema_digest IS DISTINCT FROM @ackDigest AND (@beforeSeq::bigint IS NULL OR seq < @beforeSeq)
            ORDER BY seq DESC
            LIMIT @limit
            """,
            new { agentId, session, beforeSeq, limit, ackDigest }, cancellationToken: cancellationToken))).Reverse()];

    // ------------------------------------------------------------------ what the doors read and change

    /// <summary>One message of an agent (whose ownership the caller has checked), of either direction or only <paramref name="direction"/>.</summary>
    public static Task<MessageRow?> GetAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, int agentId, Guid id,
        string? direction, CancellationToken cancellationToken) =>
        connection.QuerySingleOrDefaultAsync<MessageRow?>(new CommandDefinition(
            $"SELECT {Columns} FROM messages WHERE id = @id AND agent_id = @agentId AND (@direction::text IS NULL OR direction = @direction)",
            new { id, agentId, direction }, transaction, cancellationToken: cancellationToken));

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

    /// <summary>A page of the agent's inbound messages, newest first, before <paramref name="beforeSeq"/>; and how many match in all.</summary>
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

    /// <summary>An agent's conversations newest first (by their latest message), those whose latest seq is below <paramref name="beforeSeq"/>.</summary>
    public static async Task<IReadOnlyList<T>> ConversationsAsync<T>(NpgsqlConnection connection, int agentId, long? beforeSeq, int take,
        CancellationToken cancellationToken) =>
        (await connection.QueryAsync<T>(new CommandDefinition(
            $"""
            SELECT session, count(*)::int AS messages, min(created_at) AS startedat, max(created_at) AS lastmessageat, max(seq) AS lastseq
            FROM messages
            WHERE agent_id = @agentId AND {Inbound} AND in_reply_to IS NULL
            GROUP BY session
            HAVING @beforeSeq::bigint IS NULL OR max(seq) < @beforeSeq
            ORDER BY max(seq) DESC
            LIMIT @take
            """,
            new { agentId, beforeSeq, take }, cancellationToken: cancellationToken))).AsList();

    /// <summary>Deletes one message of an agent; false when there is none. A worker holding it finds no row at its fence and commits nothing.</summary>
    public static async Task<bool> DeleteAsync(NpgsqlConnection connection, int agentId, Guid id, CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM messages WHERE id = @id AND agent_id = @agentId",
            new { id, agentId }, cancellationToken: cancellationToken)) > 0;

    /// <summary>Deletes every message of an agent in <paramref name="status"/> (both directions); how many went.</summary>
    public static Task<int> PurgeAsync(NpgsqlConnection connection, int agentId, string status, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM messages WHERE agent_id = @agentId AND status = @status",
            new { agentId, status }, cancellationToken: cancellationToken));
}
