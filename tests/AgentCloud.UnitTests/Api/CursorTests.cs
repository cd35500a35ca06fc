using System.Text;
using AgentCloud.Api.Infrastructure;

namespace AgentCloud.UnitTests.Api;

public sealed class CursorTests
{
    [Fact]
    public void AnAgentCursorRoundTrips()
    {
        var cursor = Cursors.ForAgent(12345);

        Assert.True(Cursors.TryReadAgent(cursor, out var id));
        Assert.Equal(12345, id);
    }

    [Fact]
    public void ALogCursorRoundTripsToTheTick()
    {
        var timestamp = new DateTime(2026, 1, 31, 23, 59, 58, DateTimeKind.Unspecified).AddTicks(1234560);

        var cursor = Cursors.ForLog(timestamp, 42);

        Assert.True(Cursors.TryReadLog(cursor, out var readTimestamp, out var readId));
        Assert.Equal(timestamp, readTimestamp);
        Assert.Equal(42, readId);
    }

    [Fact]
    public void AMessageCursorRoundTripsBeyondInt32()
    {
        var cursor = Cursors.ForMessage(5_000_000_000);

        Assert.True(Cursors.TryReadMessage(cursor, out var seq));
        Assert.Equal(5_000_000_000, seq);
    }

    [Fact]
    public void AMessageCursorIsRefusedByTheOtherLists()
    {
        Assert.False(Cursors.TryReadAgent(Cursors.ForMessage(7), out _));
        Assert.False(Cursors.TryReadLog(Cursors.ForMessage(7), out _, out _));
        Assert.False(Cursors.TryReadMessage(Cursors.ForAgent(7), out _));
    }

    [Fact]
    public void CursorsAreUrlSafe()
    {
        var cursor = Cursors.ForLog(DateTime.MaxValue, int.MaxValue);

        Assert.Matches("^[A-Za-z0-9_-]+$", cursor);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-cursor")]
    [InlineData("%%%not-a-cursor")]
    [InlineData("bm9wZQ")]
    [InlineData("====")]
    public void GarbageIsNotACursor(string garbage)
    {
        Assert.False(Cursors.TryReadAgent(garbage, out _));
        Assert.False(Cursors.TryReadLog(garbage, out _, out _));
        Assert.False(Cursors.TryReadMessage(garbage, out _));
    }

    [Fact]
    public void ACursorOfOneListIsRefusedByTheOther()
    {
        Assert.False(Cursors.TryReadLog(Cursors.ForAgent(7), out _, out _));
        Assert.False(Cursors.TryReadAgent(Cursors.ForLog(DateTime.UnixEpoch, 7), out _));
    }

    [Theory]
    [InlineData("agents.v1|0")]
    [InlineData("agents.v1|-3")]
    [InlineData("agents.v1|99999999999")]
    [InlineData("agents.v1|1|2")]
    public void AWellFormedCursorWithABadIdIsRefused(string text)
    {
        var cursor = Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        Assert.False(Cursors.TryReadAgent(cursor, out _));
    }

    [Theory]
    [InlineData("messages.v1|0")]
    [InlineData("messages.v1|-3")]
    [InlineData("messages.v1|99999999999999999999")]
    [InlineData("messages.v1|1|2")]
    public void AWellFormedMessageCursorWithABadSeqIsRefused(string text)
    {
        var cursor = Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        Assert.False(Cursors.TryReadMessage(cursor, out _));
    }
}
