namespace AgentCloud.Shared.Messaging;

/// <summary>A message of a run, at <paramref name="Position"/> in it, that its handling would answer: see
/// <see cref="MessageTable.CheckEchoesAsync"/>.</summary>
public sealed record EchoCheck(int Position, string Peer, Guid Session, string? SchemaDigest, string PayloadJson);

/// <summary>Something the message at <paramref name="Position"/> of a run would send (to <paramref name="Target"/>, normalised).</summary>
public sealed record RunSend(int Position, string Target, Guid Session, string? SchemaDigest, string PayloadJson);

/// <summary>
/// An echo check's answer: the rank (1 the newest) of the newest matching message among the last
/// <see cref="MessageTable.EchoLookBack"/> committed in the agent's outbox and in the peer's inbox here, null when none
/// matches; and which of the run's sends (indexes into the <see cref="RunSend"/> list) before the message match it.
/// </summary>
public sealed class EchoCheckResult
{
    public int Position { get; init; }
    public int? OutboxRank { get; init; }
    public int? PeerInboxRank { get; init; }
    public int[] MatchingRunSends { get; init; } = [];
}
