namespace AgentCloud.Shared.Messaging;

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
