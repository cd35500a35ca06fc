using AgentCloud.AgentWorker.UAgents;
using AgentCloud.Shared.Data;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Messaging.Behaviors;
using AgentCloud.Shared.UAgents;

namespace AgentCloud.AgentWorker.Messaging;

/// <summary>One handled message of a run: its row, its behaviour's result (null: a reply, which nothing answers), the trace its sends
/// continue.</summary>
public sealed record HandledMessage(MessageRow Message, BehaviorResult? Result, string? Traceparent);

/// <summary>Something a handled message would send: a reply to its sender, or a forward (<see cref="BehaviorResult.Send"/>).</summary>
public sealed record PlannedSend(int Position, string Target, ReplyMessage Content, bool IsReply);

/// <summary>
/// What the decisions of a run need besides the run: the echo check's answers by position (<see cref="MessageTable.CheckEchoesAsync"/>)
/// and each target's route, read by the handler in the run's transaction.
/// </summary>
public sealed record RunFacts(int AgentId, string? AgentAddress, IReadOnlyList<HandledMessage> Run, IReadOnlyList<PlannedSend> Sends,
    IReadOnlyDictionary<int, EchoCheckResult> Echoes, IReadOnlyDictionary<string, Shared.Messaging.Route> Routes, int MaxHops);

/// <summary>What a run commits: each message's completion, the log lines, the messages it sends (ids chosen here, so lines can name
/// them).</summary>
public sealed record RunPlan(List<Completion> Completions, List<(string Level, string Message)> Lines,
    List<(Guid Id, NewMessage Message)> Queued);

/// <summary>
/// The rules of what a handled message does, with no I/O (the handler reads the facts and commits the plan): a reply ends
/// its conversation; a user reads the reply on the row; a sync sender gets the first reply on its open request; an echo of
/// what this agent already sent its sender is acknowledged, not answered; a forward past the hop limit is dropped; a send no
/// endpoint source can deliver is stored dead at once. Each message of the run is decided as if handled one by one.
/// </summary>
public static class RunDecisions
{
    /// <summary>
    /// A reply ends its conversation: running the behaviour on it would answer the answer, and two echo (or default) agents
    /// would talk forever. A chat acknowledgement is a reply too, even from a remote uAgent whose envelopes cannot say what
    /// they answer.
    /// </summary>
    public static bool EndsConversation(MessageRow message) => message.InReplyTo is not null || ChatProtocol.IsAcknowledgement(message);

    /// <summary>
    /// What each message of the run would send if it is no echo of ours: its replies (none to a user, who reads the reply on
    /// the row) and its forwards (none past the hop limit).
    /// </summary>
    public static List<PlannedSend> PlanSends(IReadOnlyList<HandledMessage> run, int maxHops)
    {
        List<PlannedSend> sends = [];
        for (var position = 0; position < run.Count; position++)
        {
            var (message, result, _) = run[position];
            if (result is null)
            {
                continue;
            }

            var replies = Senders.IsUser(message.Sender) ? [] : result.RepliesToSend;
            sends.AddRange(replies.Select(reply => new PlannedSend(position, TargetOf(message.Sender), reply, IsReply: true)));
            sends.AddRange(Outgoing.PastHopLimit(message.Hops, maxHops) is not null
                ? []
                : result.Send.Select(send => new PlannedSend(position, TargetOf(send.Target), new ReplyMessage(send.Payload),
                    IsReply: false)));
        }

        return sends;
    }

    /// <summary>The run's completions, log lines and sends, decided in order; <paramref name="newId"/> names each send.</summary>
    public static RunPlan Decide(RunFacts facts, Func<Guid> newId)
    {
        var (run, sends) = (facts.Run, facts.Sends);
        List<Completion> completions = [];
        List<(string Level, string Message)> lines = [];
        List<(Guid Id, NewMessage Message)> queued = [];
        var isQueued = new bool[sends.Count];
        // How many the run has queued so far for each (target, session, queue): they come before the committed ones in a look-back
        // (which compares the stored target with the sender as it came, as the look-up by one does).
        var queuedTo = new Dictionary<(string Target, Guid Session, string Direction), int>();
        for (var position = 0; position < run.Count; position++)
        {
            var (message, result, traceparent) = run[position];
            var received = $"Received message {message.Id} from {UntrustedText.ForLog(message.Sender, 200)}";
            lines.Add((LogLevels.Info, message.InReplyTo is { } original
                ? $"{received} (a reply to message {original}): {Preview(message.Payload)}" : received));
            if (result is null)
            {
                completions.Add(new Completion(message.Id, null, null));
                continue;
            }

            lines.AddRange(result.Logs.Select(line => (line.Level, line.Message)));
            var replies = Enumerable.Range(0, sends.Count).Where(i => sends[i].Position == position && sends[i].IsReply).ToList();
            if (replies.Count > 0 && facts.Echoes.TryGetValue(position, out var echo) && Repeats(echo, message))
            {
                // Acknowledge (that is never answered), say no more.
                replies = [.. replies.Where(i => sends[i].Content.SchemaDigest == MessageModels.ChatAcknowledgement.Digest)];
                lines.Add((LogLevels.Info, $"Message {message.Id} repeats what this agent sent {message.Sender} in session " +
                    $"{message.Session}; not answering it"));
            }

            // A sync sender waits on its open request for one answer (the first, if it has a model); any others go the usual way.
            SyncAnswer? answer = null;
            if (message.SenderWaits && replies.Count > 0)
            {
                var first = sends[replies[0]].Content;
                answer = first.SchemaDigest is { } schema ? new SyncAnswer(PayloadOf(first), schema, first.ProtocolDigest) : null;
                replies = [.. replies.Skip(1)];
            }

            foreach (var i in replies)
            {
                Queue(i, message, traceparent, inReplyTo: message.Id);
            }

            var forwards = Enumerable.Range(0, sends.Count).Where(i => sends[i].Position == position && !sends[i].IsReply).ToList();
            foreach (var send in result.Send)
            {
                if (Outgoing.PastHopLimit(message.Hops, facts.MaxHops) is { } why)
                {
                    lines.Add((LogLevels.Warning,
                        $"Did not send message {message.Id} on to {UntrustedText.ForLog(send.Target, 200)}: {why}"));
                    continue;
                }

                Queue(forwards[0], message, traceparent, inReplyTo: null);
                forwards.RemoveAt(0);
            }

            completions.Add(new Completion(message.Id, result.Reply?.ToJsonString(), answer));
        }

        return new RunPlan(completions, lines, queued);

        void Queue(int i, MessageRow message, string? traceparent, Guid? inReplyTo)
        {
            var sender = facts.AgentAddress is { Length: > 0 } address
                ? address
                : throw new InvalidOperationException($"Agent {facts.AgentId} has no address, so it cannot send messages.");
            var (target, content) = (sends[i].Target, sends[i].Content);
            var route = facts.Routes[target];
            var send = Outgoing.CausedBy(message, facts.AgentId, sender, target, PayloadOf(content)) with
            {
                InReplyTo = inReplyTo,
                Traceparent = traceparent,
                SchemaDigest = content.SchemaDigest,
                ProtocolDigest = content.ProtocolDigest,
                Why = inReplyTo is { } original ? $"the reply to message {original}" : null,
            };
            var id = newId();
            queued.Add((id, Outgoing.Row(send, route)));
            lines.Add(Outgoing.Line(id, send, route));
            isQueued[i] = true;
            var key = (target, message.Session, route.Direction);
            queuedTo[key] = queuedTo.GetValueOrDefault(key) + 1;
        }

        // An echo when the run already queued the same content for the sender in the session, or a committed message within
        // the look-back did (the run's own come first in it).
        bool Repeats(EchoCheckResult echo, MessageRow message) =>
            echo.MatchingRunSends.Any(i => isQueued[i])
            || echo.OutboxRank <= MessageTable.EchoLookBack - queuedTo.GetValueOrDefault(
                (message.Sender, message.Session, MessageDirection.Outbound))
            || echo.PeerInboxRank <= MessageTable.EchoLookBack
                - queuedTo.GetValueOrDefault((message.Sender, message.Session, MessageDirection.Inbound));
    }

    // An unsigned user sender (user…) is an identity of its own, not NAME/ADDR: "user/agent1…" must not be read as the local
    // agent after the slash. Its reply goes back over the wire, never into an inbox here.
    private static string TargetOf(string target) => Address.IsUserSender(target) ? target : Address.Normalize(target);

    public static string PayloadOf(ReplyMessage content) => content.Payload?.ToJsonString() ?? "null";

    private static string Preview(string payload, int max = 200) => payload.Length <= max ? payload : payload[..max] + "…";
}
