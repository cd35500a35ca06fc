namespace AgentCloud.Shared.Messaging;

/// <summary>What <see cref="MessageTable.ClaimInboundAsync"/> claimed; <c>Wrapped</c>: its scan went past the last agent with
/// work.</summary>
public sealed record InboundClaim(IReadOnlyList<ClaimedHead> Heads, bool Wrapped);

/// <summary>
/// A head of line as <see cref="MessageTable.ClaimInboundAsync"/> took it: with its agent's address and config (<c>{}</c> for none) as the
/// claim read them, and whether anything else was waiting in its inbox (a head that was alone has no followers to read ahead).
/// </summary>
public sealed record ClaimedHead(MessageRow Message, string? AgentAddress, string AgentConfig, bool HasFollowers);
