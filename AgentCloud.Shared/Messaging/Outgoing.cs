using System.Text.Json;
using AgentCloud.Shared.Data;
using Npgsql;

namespace AgentCloud.Shared.Messaging;

/// <summary>
/// A message an agent sends, whoever decided it: the handler (a behaviour's replies and forwards), the llm tool
/// <c>send_message</c>, or the owner through <c>/send</c>. <see cref="Hops"/> and <see cref="CallChain"/> are the new row's
/// (see <see cref="Outgoing.CausedBy"/>); <see cref="Why"/> ends the log line ("the reply to message …").
/// </summary>
public sealed record OutgoingSend(int AgentId, string SenderAddress, string Target, Guid Session, string PayloadJson)
{
    public int Hops { get; init; }

    public Guid? InReplyTo { get; init; }

    public Guid[]? CallChain { get; init; }

    public string? Traceparent { get; init; }

    public string? SchemaDigest { get; init; }

    public string? ProtocolDigest { get; init; }

    public string? IdempotencyKey { get; init; }

    /// <summary>A remote target is posted to synchronously, its answer becoming the reply (<c>/send</c>'s <c>wait</c>).</summary>
    public bool WaitForReply { get; init; }

    public string? Why { get; init; }
}

/// <summary>
/// The one send path: the hop limit, the row for a target's route (<see cref="MessageTable.RouteAsync"/>: an inbox here or the
/// sender's outbox), dead at once when no endpoint source could deliver it, and the "Sent message" log line. The handler
/// commits many at once (<see cref="Row"/> and <see cref="Line"/>, in its batch); a tool and <c>/send</c> store one
/// (<see cref="StoreAsync"/>). Callers wake the queue after their commit (<see cref="Wakeups.Queued"/>).
/// </summary>
public static class Outgoing
{
    /// <summary>
    /// Why a message that has passed <paramref name="hops"/> agents may not be sent on (null: it may). Agents that forward to
    /// each other would otherwise pass a message around for ever.
    /// </summary>
    public static string? PastHopLimit(int hops, int maxHops) =>
        hops >= maxHops ? $"it has already passed {hops} agents (the limit is {maxHops})" : null;

    /// <summary>A send caused by handling <paramref name="cause"/>: its session, one hop more, and (for a delegation) its call
    /// chain.</summary>
    public static OutgoingSend CausedBy(MessageRow cause, int agentId, string senderAddress, string target, string payloadJson,
        bool delegation = false) => new(agentId, senderAddress, target, cause.Session, payloadJson)
    {
        Hops = cause.Hops + 1,
        // A delegation's chain travels with it: the target's run may call back into this agent past the run's wait.
        CallChain = delegation ? [.. cause.CallChain ?? [], cause.Id] : null,
    };

    /// <summary>A text as a message payload (a JSON string).</summary>
    public static string Text(string text) => JsonSerializer.Serialize(text);

    /// <summary>The row <paramref name="send"/> becomes along <paramref name="route"/>: dead at once when unreachable (its one
    /// attempt).</summary>
    public static NewMessage Row(OutgoingSend send, Route route) => new(
        AgentId: route.AgentId,
        Direction: route.Direction,
        Sender: send.SenderAddress,
        Target: send.Target,
        Session: send.Session,
        PayloadJson: send.PayloadJson,
        SchemaDigest: send.SchemaDigest,
        ProtocolDigest: send.ProtocolDigest,
        InReplyTo: send.InReplyTo,
        Traceparent: send.Traceparent,
        Hops: send.Hops,
        IdempotencyKey: send.IdempotencyKey,
        PostSync: !route.IsLocal && send.WaitForReply,
        DeadBecause: route.Unreachable ? MessageTable.NoEndpoint(send.Target) : null,
        CallChain: send.CallChain);

    /// <summary>The sender's log line for the stored row <paramref name="id"/> of <paramref name="send"/>.</summary>
    public static (string Level, string Message) Line(Guid id, OutgoingSend send, Route route)
    {
        var target = UntrustedText.ForLog(send.Target, 200);
        return route.Unreachable
            ? (LogLevels.Error, $"Message {id} to {target} is dead at once: {MessageTable.NoEndpoint(send.Target)}")
            : (LogLevels.Info, send.Why is { } why ? $"Sent message {id} to {target} ({why})" : $"Sent message {id} to {target}");
    }

    /// <summary>
    /// Stores one send in the caller's transaction with its log line. <paramref name="riding"/>: statements that ride on the
    /// insert (the day quota). Repeat: the idempotency key already named a message, which is returned and nothing is written.
    /// </summary>
    public static async Task<(MessageRow Message, bool Repeat)> StoreAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        OutgoingSend send, Route route, CancellationToken cancellationToken, RidingStatements? riding = null)
    {
        var (message, repeat) = await MessageTable.EnqueueAsync(connection, transaction, Row(send, route), cancellationToken, riding);
        if (!repeat)
        {
            var (level, line) = Line(message.Id, send, route);
            await AgentLogs.WriteAsync(connection, send.AgentId, level, line, transaction, cancellationToken);
        }

        return (message, repeat);
    }
}
