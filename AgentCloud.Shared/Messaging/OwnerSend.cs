namespace AgentCloud.Shared.Messaging;

/// <summary>
/// The users' day quota in the statement of <see cref="MessageTable.EnqueueForOwnersAsync"/>: <c>TakeTurns</c> runs first and takes
/// the turn of each user of <c>@userIds</c>; then, for a user id (an expression), <c>Used</c> reads the day's use afresh and
/// <c>Turn</c> is the turn taken, and for a <c>turn</c> column, <c>Bound</c> is what the use may reach on it; <c>Count</c> counts
/// the messages of a query of (user_id, n).
/// </summary>
public sealed record DayQuota(string TakeTurns, Func<string, string> Used, Func<string, string> Turn, string Bound, Func<string,
    string> Count,
    object Parameters);

/// <summary>An owner's message for <see cref="MessageTable.EnqueueForOwnersAsync"/>; <c>FallbackAddress</c>: the target when the agent's
/// row has none.</summary>
public sealed record OwnerSend(int UserId, int AgentId, Guid Session, string PayloadJson, string? Traceparent, string? IdempotencyKey,
    string? FallbackAddress = null);

/// <summary>
/// What <see cref="MessageTable.EnqueueForOwnersAsync"/> did with one send: whether the agent is the user's, has an address and room
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
