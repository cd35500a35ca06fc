using AgentCloud.Shared.Data;
using AgentCloud.Shared.Messaging;

namespace AgentCloud.UnitTests.Messaging;

/// <summary>The one send path's rules, with no database: the hop limit, the row a route makes, the delegation's call chain, the log
/// line.</summary>
public sealed class OutgoingTests
{
    private const string Me = "agent1qme";
    private const string Peer = "agent1qpeer";

    [Theory]
    [InlineData(0, 16, false)]
    [InlineData(15, 16, false)]
    [InlineData(16, 16, true)]
    [InlineData(17, 16, true)]
    public void AMessageThatPassedTheHopLimitIsNotSentOn(int hops, int maxHops, bool refused)
    {
        var why = Outgoing.PastHopLimit(hops, maxHops);

        Assert.Equal(refused, why is not null);
        if (why is not null)
        {
            Assert.Contains($"the limit is {maxHops}", why, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ALocalTargetGetsTheRowInItsInboxOneHopFurtherInTheCausesSession()
    {
        var cause = Cause(hops: 2);
        var send = Outgoing.CausedBy(cause, 7, Me, Peer, Outgoing.Text("hi"));

        var row = Outgoing.Row(send, new Route(9, MessageDirection.Inbound));

        Assert.Equal((9, MessageDirection.Inbound, Me, Peer, cause.Session, "\"hi\"", 3),
            (row.AgentId, row.Direction, row.Sender, row.Target,
            row.Session, row.PayloadJson, row.Hops));
        Assert.Null(row.DeadBecause);
        Assert.Null(row.CallChain);
        Assert.Equal($"Sent message {cause.Id} to {Peer}", Outgoing.Line(cause.Id, send, new Route(9, MessageDirection.Inbound)).Message);
    }

    [Fact]
    public void ADelegationCarriesTheCallChainWithTheCauseAppended()
    {
        var root = Guid.NewGuid();
        var cause = Cause(chain: [root]);

        var send = Outgoing.CausedBy(cause, 7, Me, Peer, Outgoing.Text("hi"), delegation: true);

        Assert.Equal([root, cause.Id], send.CallChain!);
    }

    [Fact]
    public void AnUnreachableTargetIsStoredDeadAtOnceInTheSendersOutboxAndLoggedAsAnError()
    {
        var send = new OutgoingSend(7, Me, Peer, Guid.NewGuid(), "\"hi\"") { WaitForReply = true };
        var unreachable = new Route(7, MessageDirection.Outbound, Unreachable: true);

        var row = Outgoing.Row(send, unreachable);
        var (level, line) = Outgoing.Line(Guid.Empty, send, unreachable);

        Assert.Equal((7, MessageDirection.Outbound, MessageTable.NoEndpoint(Peer)), (row.AgentId, row.Direction, row.DeadBecause));
        Assert.True(row.PostSync);
        Assert.Equal(LogLevels.Error, level);
        Assert.Contains("is dead at once", line, StringComparison.Ordinal);
    }

    [Fact]
    public void OnlyARemoteTargetIsPostedSynchronouslyAndTheLogLineIsSafe()
    {
        var send = new OutgoingSend(7, Me, "agent1q\nfake line", Guid.NewGuid(), "\"hi\"")
            { WaitForReply = true, Why = "the reply to message x" };
        var local = new Route(9, MessageDirection.Inbound);

        Assert.False(Outgoing.Row(send, local).PostSync);
        var line = Outgoing.Line(Guid.Empty, send, local).Message;
        Assert.DoesNotContain('\n', line);
        Assert.EndsWith("(the reply to message x)", line, StringComparison.Ordinal);
    }

    private static MessageRow Cause(int hops = 0, Guid[]? chain = null) => new()
    {
        Id = Guid.NewGuid(), AgentId = 7, Direction = MessageDirection.Inbound, Sender = Peer, Target = Me, Session = Guid.NewGuid(),
        Payload = "\"hello\"", Status = MessageStatus.Processing, Hops = hops, CallChain = chain,
    };
}
