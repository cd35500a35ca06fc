using System.Text.Json.Nodes;

namespace AgentCloud.Shared.Messaging.Behaviors;

/// <summary>
/// What an agent does with a message, chosen by its config's <c>behavior</c> field. A new kind of
/// agent is one new class: its name, how it checks its config, how it handles a message.
/// </summary>
public interface IAgentBehavior
{
    /// <summary>The value of <c>config.behavior</c> that selects this behaviour.</summary>
    string Name { get; }

    /// <summary>Problems with the config (empty when it is fine), each naming the field, e.g. "config.target: …".</summary>
    IReadOnlyList<string> Validate(JsonObject config);

    /// <summary>
    /// Whether handling touches nothing but its result and takes no time worth speaking of (no model, no tool, no
    /// network): then an agent's queued messages are handled in a row and committed together, in one transaction.
    /// </summary>
    bool IsPure => false;

    /// <summary>
    /// Whether handling spends its time awaiting I/O (a model, a remote tool): then it holds no handling slot and no pooled
    /// connection while it waits, and a worker keeps many such runs in flight (<c>MaxRunsInFlight</c>).
    /// </summary>
    bool Awaits => false;

    /// <summary>
    /// Handles one message. Throwing fails the attempt: it is retried with backoff, then dead. Nothing
    /// the result asks for happens unless the whole handling commits.
    /// </summary>
    ValueTask<BehaviorResult> HandleAsync(BehaviorContext context, CancellationToken cancellationToken);
}

/// <param name="AgentAddress">The handling agent's own uAgents address.</param>
public sealed record BehaviorContext(int AgentId, string AgentAddress, JsonObject Config, MessageRow Message)
{
    public JsonNode? Payload => JsonNode.Parse(Message.Payload);
}

/// <summary>What handling a message produced: an answer for the sender, messages to send, log lines.</summary>
public sealed class BehaviorResult
{
    /// <summary>
    /// Stored on the message as its reply and, when the sender is an agent and <see cref="Replies"/> is
    /// not set, sent back to it (without a uAgents model).
    /// </summary>
    public JsonNode? Reply { get; init; }

    /// <summary>What goes back to an agent sender, in order, each with its uAgents model; null: just <see cref="Reply"/>.</summary>
    public IReadOnlyList<ReplyMessage>? Replies { get; init; }

    public IReadOnlyList<ReplyMessage> RepliesToSend => Replies ?? (Reply is null ? [] : [new ReplyMessage(Reply)]);

    public IReadOnlyList<OutgoingMessage> Send { get; init; } = [];

    public IReadOnlyList<BehaviorLogLine> Logs { get; init; } = [];
}

public sealed record OutgoingMessage(string Target, JsonNode? Payload);

/// <param name="SchemaDigest">The uAgents model of <paramref name="Payload"/> (<c>model:…</c>), when it has one.</param>
/// <param name="ProtocolDigest">The protocol it belongs to (<c>proto:…</c>), when any.</param>
public sealed record ReplyMessage(JsonNode? Payload, string? SchemaDigest = null, string? ProtocolDigest = null);

public sealed record BehaviorLogLine(string Level, string Message);
