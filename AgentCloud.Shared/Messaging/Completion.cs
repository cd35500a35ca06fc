namespace AgentCloud.Shared.Messaging;

/// <summary>The answer a handler gives a waiting sync sender: a uAgents model, handed back in the open HTTP response.</summary>
public sealed record SyncAnswer(string PayloadJson, string SchemaDigest, string? ProtocolDigest);

/// <summary>One handled inbound message of a run, as <see cref="MessageTable.CompleteInboundAsync"/> finishes it.</summary>
public sealed record Completion(Guid Id, string? ReplyJson, SyncAnswer? Answer);

/// <summary>
/// One agent's run for <see cref="MessageTable.CompleteInboundAsync"/>: its messages (the head, under our lease, first), its log
/// lines, and whether to claim its next head (<c>NextId</c>: the one read ahead).
/// </summary>
public sealed record RunCompletion(int AgentId, IReadOnlyList<Completion> Messages, IReadOnlyList<(string Level, string Message)> Lines,
    bool ClaimNext, Guid? NextId);

/// <summary>A run <see cref="MessageTable.CompleteInboundAsync"/> finished: ms from accepted to done of each message, and the next head it
/// claimed.</summary>
public sealed record CompletedRun(IReadOnlyList<double> Latencies, MessageRow? Next);
