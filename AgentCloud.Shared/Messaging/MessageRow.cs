namespace AgentCloud.Shared.Messaging;

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
    /// <summary>The runs whose delegation this message is part of, outermost first (see <see cref="ParkedRuns"/>).</summary>
    public Guid[]? CallChain { get; init; }
    /// <summary>What a waiting run waits for (JSON), as the doors show it.</summary>
    public string? WaitingFor { get; init; }

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
    string? DeadBecause = null,
    Guid[]? CallChain = null);

/// <summary>What to list of one agent's messages.</summary>
public sealed record MessageQuery(int AgentId, string? Status, string? Direction, long? BeforeSeq, int Take);
