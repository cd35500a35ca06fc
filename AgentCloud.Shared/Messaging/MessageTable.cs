namespace AgentCloud.Shared.Messaging;

/// <summary>
/// The one store of the <c>messages</c> table (inbox and outbox alike): every statement on it is in this class, one file
/// per step of the message's path (MessageTable.Enqueue, .Routing, .Claims, .Completion, .Delivery, .EchoCheck, .Reads),
/// so the path can be followed in order. Callers own the connection and, where one is passed, the transaction. See
/// docs/messaging.md for the protocol.
/// </summary>
public static partial class MessageTable
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
    private const string Due = $"(status IN ('{Queued}', '{Failed}') AND available_at <= {Now}) OR (status = '{Processing}' AND " +
        $"lease_until <= {Now})";
    private const string OtherLane = $"(sender NOT LIKE '{Senders.UserPrefix}%')";
    private const string ReleaseLease = "lease_owner = NULL, lease_until = NULL";

    public const string Columns =
        """
        id, seq, agent_id, direction, sender, target, session, schema_digest, protocol_digest,
        payload::text AS payload, status, attempts, available_at, lease_owner, lease_until,
        reply::text AS reply, error, in_reply_to, hops, traceparent, expires_at, sender_waits, delivered_to,
        created_at, updated_at, completed_at, call_chain, waiting_for::text AS waiting_for
        """;
}
