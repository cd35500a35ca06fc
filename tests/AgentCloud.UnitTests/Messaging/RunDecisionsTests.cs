using System.Text.Json.Nodes;
using AgentCloud.AgentWorker.Messaging;
using AgentCloud.Shared.Data;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Messaging.Behaviors;
using AgentCloud.Shared.UAgents;

namespace AgentCloud.UnitTests.Messaging;

/// <summary>What a handled message sends, logs and completes with, decided with no database.</summary>
public sealed class RunDecisionsTests
{
    private const string Me = "agent1qme";
    private const string Peer = "agent1qpeer";
    private const int MaxHops = 3;
    private static readonly Route Local = new(7, MessageDirection.Inbound);

    [Fact]
    public void AnAgentSendersMessageIsAnsweredWithOneReplyToItsSender()
    {
        var message = Row(Peer);
        var plan = Decide([new HandledMessage(message, Reply("hi"), "00-trace")]);

        var (id, sent) = Assert.Single(plan.Queued);
        Assert.Equal((Peer, Me, message.Id, "\"hi\""), (sent.Target, sent.Sender, sent.InReplyTo, sent.PayloadJson));
        Assert.Equal(message.Hops + 1, sent.Hops);
        Assert.Equal("00-trace", sent.Traceparent);
        Assert.Contains(plan.Lines, line => line.Message == $"Sent message {id} to {Peer} (the reply to message {message.Id})");
        Assert.Equal("\"hi\"", Assert.Single(plan.Completions).ReplyJson);
    }

    [Fact]
    public void AUserReadsTheReplyOnTheRowSoNothingIsSentToIt()
    {
        var plan = Decide([new HandledMessage(Row(Senders.User(1)), Reply("hi"), null)]);

        Assert.Empty(plan.Queued);
        Assert.Equal("\"hi\"", Assert.Single(plan.Completions).ReplyJson);
    }

    [Fact]
    public void AReplyEndsItsConversation()
    {
        var reply = Row(Peer, inReplyTo: Guid.NewGuid());

        Assert.True(RunDecisions.EndsConversation(reply));
        var plan = Decide([new HandledMessage(reply, null, null)]);
        Assert.Empty(plan.Queued);
        Assert.Null(Assert.Single(plan.Completions).ReplyJson);
        Assert.StartsWith($"Received message {reply.Id} from {Peer} (a reply to message", plan.Lines[0].Message);
    }

    [Fact]
    public void AnEchoOfWhatThisAgentAlreadySentItsSenderIsNotAnswered()
    {
        var message = Row(Peer);
        var plan = Decide([new HandledMessage(message, Reply("hi"), null)],
            echoes: new() { [0] = new EchoCheckResult { Position = 0, OutboxRank = 1 } });

        Assert.Empty(plan.Queued);
        Assert.Contains(plan.Lines, line => line.Message.Contains("repeats what this agent sent", StringComparison.Ordinal));
    }

    [Fact]
    public void ASyncSenderGetsTheFirstReplyOnItsRequestNotAsAMessage()
    {
        var message = Row(Peer, senderWaits: true);
        var result = new BehaviorResult
        {
            Reply = JsonValue.Create("hi"),
            Replies = [new ReplyMessage(new JsonObject { ["message"] = "hi" }, MessageModels.Message.Digest)],
        };

        var plan = Decide([new HandledMessage(message, result, null)]);

        Assert.Empty(plan.Queued);
        Assert.Equal(MessageModels.Message.Digest, Assert.Single(plan.Completions).Answer?.SchemaDigest);
    }

    [Fact]
    public void AForwardPastTheHopLimitIsDroppedWithAWarning()
    {
        var message = Row(Peer, hops: MaxHops);
        var result = new BehaviorResult { Send = [new OutgoingMessage("agent1qnext", JsonValue.Create("on"))] };

        var plan = Decide([new HandledMessage(message, result, null)]);

        Assert.Empty(plan.Queued);
        Assert.Contains(plan.Lines, line => line.Level == LogLevels.Warning
            && line.Message.Contains($"the limit is {MaxHops}", StringComparison.Ordinal));
    }

    [Fact]
    public void ASendNoEndpointCanDeliverIsStoredDeadAtOnce()
    {
        var message = Row(Peer);
        var plan = Decide([new HandledMessage(message, Reply("hi"), null)],
            route: new Route(1, MessageDirection.Outbound, Unreachable: true));

        var (id, sent) = Assert.Single(plan.Queued);
        Assert.Equal(MessageTable.NoEndpoint(Peer), sent.DeadBecause);
        Assert.Contains(plan.Lines, line => line.Level == LogLevels.Error
            && line.Message.StartsWith($"Message {id} to {Peer} is dead at once", StringComparison.Ordinal));
    }

    private static RunPlan Decide(IReadOnlyList<HandledMessage> run, Dictionary<int, EchoCheckResult>? echoes = null, Route? route = null)
    {
        var sends = RunDecisions.PlanSends(run, MaxHops);
        var routes = sends.Select(s => s.Target).Distinct().ToDictionary(t => t, _ => route ?? Local);
        return RunDecisions.Decide(new RunFacts(7, Me, run, sends, echoes ?? [], routes, MaxHops), Guid.NewGuid);
    }

    private static BehaviorResult Reply(string text) => new() { Reply = JsonValue.Create(text) };

    private static MessageRow Row(string sender, Guid? inReplyTo = null, int hops = 0, bool senderWaits = false) => new()
    {
        Id = Guid.NewGuid(), AgentId = 7, Direction = MessageDirection.Inbound, Sender = sender, Target = Me, Session = Guid.NewGuid(),
        Payload = "\"hello\"", Status = MessageStatus.Processing, InReplyTo = inReplyTo, Hops = hops, SenderWaits = senderWaits,
    };
}
