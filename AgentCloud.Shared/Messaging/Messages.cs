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
    public bool SyncReply { get; init; }
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
    bool SyncReply = false,
    string? IdempotencyKey = null);

/// <summary>Where a message from an agent goes: into the inbox of an agent hosted here, or its sender's outbox.</summary>
public readonly record struct Route(int AgentId, string Direction)
{
    public bool IsLocal => Direction == MessageDirection.Inbound;
}

public static class Messages
{
    public const string Columns =
        """
        id, seq, agent_id, direction, sender, target, session, schema_digest, protocol_digest,
        payload::text AS payload, status, attempts, available_at, lease_owner, lease_until,
        reply::text AS reply, error, in_reply_to, hops, traceparent, expires_at, sync_reply, delivered_to,
        created_at, updated_at, completed_at
        """;

    /// <summary>
    /// Queues a message inside the caller's transaction and wakes whoever handles it once that
    /// commits (NOTIFY is transactional). A message whose <see cref="NewMessage.DedupKey"/> (the envelope's
    /// identity) is already in that agent's box, or whose sender already used its
    /// <see cref="NewMessage.IdempotencyKey"/>, is not stored again: the first copy is returned
    /// (<c>Duplicate</c> true). Without either key every call stores a new message.
    /// </summary>
    public static async Task<(MessageRow Message, bool Duplicate)> EnqueueAsync(NpgsqlConnection connection,
        NpgsqlTransaction transaction, NewMessage message, CancellationToken cancellationToken)
    {
        // No conflict target: either unique key (envelope identity or client key) makes it a repeat.
        var inserted = await connection.QuerySingleOrDefaultAsync<MessageRow>(new CommandDefinition(
            $"""
            INSERT INTO messages (agent_id, direction, sender, target, session, schema_digest, protocol_digest,
                                  payload, in_reply_to, hops, dedup_key, idempotency_key, traceparent, expires_at, sync_reply)
            VALUES (@AgentId, @Direction, @Sender, @Target, @Session, @SchemaDigest, @ProtocolDigest,
                    @PayloadJson::jsonb, @InReplyTo, @Hops, @DedupKey, @IdempotencyKey, @Traceparent, @expiresAt, @SyncReply)
            ON CONFLICT DO NOTHING
            RETURNING {Columns}
            """,
            new
            {
                message.AgentId, message.Direction, message.Sender, message.Target, message.Session,
                message.SchemaDigest, message.ProtocolDigest, message.PayloadJson, message.InReplyTo,
                message.Hops, message.DedupKey, message.IdempotencyKey, message.Traceparent, message.SyncReply,
                expiresAt = message.ExpiresAt is { } expires ? DateTime.SpecifyKind(expires, DateTimeKind.Unspecified) : (DateTime?)null,
            },
            transaction, cancellationToken: cancellationToken));

        if (inserted is null)
        {
            // Under READ COMMITTED this statement sees the conflicting row, committed by the time the insert gave way.
            var existing = await connection.QuerySingleAsync<MessageRow>(new CommandDefinition(
                message.IdempotencyKey is not null
                    ? $"SELECT {Columns} FROM messages WHERE sender = @Sender AND idempotency_key = @IdempotencyKey"
                    : $"SELECT {Columns} FROM messages WHERE agent_id = @AgentId AND direction = @Direction AND dedup_key = @DedupKey",
                new { message.AgentId, message.Direction, message.DedupKey, message.Sender, message.IdempotencyKey },
                transaction, cancellationToken: cancellationToken));
            return (existing, true);
        }

        // A sync reply is handed back in an open HTTP response, not delivered by the outbox: wake nobody.
        if (message.SyncReply && message.Direction == MessageDirection.Outbound)
        {
            return (inserted, false);
        }

        var channel = message.Direction == MessageDirection.Inbound ? NotifyChannels.Inbox : NotifyChannels.Outbox;
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_notify(@channel, @agentId)",
            new { channel, agentId = message.AgentId.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            transaction, cancellationToken: cancellationToken));
        return (inserted, false);
    }

    /// <summary>
    /// The one routing rule for a message an agent sends (the API's <c>/send</c> and the worker's replies
    /// and forwards): an address in the static endpoint map, or <paramref name="overHttp"/>, goes over HTTP
    /// from the sender's outbox even when hosted here; else an agent hosted here gets it in its inbox;
    /// anything else waits in the sender's outbox for remote delivery.
    /// </summary>
    public static async Task<Route> RouteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        StaticEndpointMap endpointMap, int senderAgentId, string target, bool overHttp, CancellationToken cancellationToken) =>
        !overHttp && !endpointMap.Contains(target)
            && await FindLocalAgentAsync(connection, transaction, target, cancellationToken) is { } local
            ? new Route(local, MessageDirection.Inbound)
            : new Route(senderAgentId, MessageDirection.Outbound);

    /// <summary>The agent hosted here under <paramref name="address"/>, if any.</summary>
    public static Task<int?> FindLocalAgentAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string address,
        CancellationToken cancellationToken) =>
        connection.QuerySingleOrDefaultAsync<int?>(new CommandDefinition(
            "SELECT id FROM agents WHERE address = @address", new { address }, transaction, cancellationToken: cancellationToken));
}
