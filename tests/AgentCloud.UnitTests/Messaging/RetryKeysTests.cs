using System.Text;
using AgentCloud.Shared.Messaging;

namespace AgentCloud.UnitTests.Messaging;

public sealed class RetryKeysTests
{
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"model":"agent-1","messages":[{"role":"user","content":"hi"}]}""");

    [Fact]
    public void EveryAttemptOfOneCallIsOfOneFamilyAndAFirstAttemptLooksNowhere()
    {
        var first = RetryKeys.Of("/v1/chat/completions", "7:key:3", null, Body, "0", "2");
        var retry = RetryKeys.Of("/v1/chat/completions", "7:key:3", "", Body, "1", "2");

        Assert.Equal(first.Family, retry.Family);
        Assert.Equal(RetryKeys.FamilyLength, first.Family.Length);
        Assert.Equal(TimeSpan.Zero, first.Window);
        Assert.Equal(1, retry.Attempt);
        // The client's 2 s and its longest sleep between attempts.
        Assert.Equal(TimeSpan.FromSeconds(62), retry.Window);
        Assert.NotEqual(first.NewKey(), first.NewKey());
        Assert.StartsWith(first.Family + ":", first.NewKey());
        Assert.InRange(first.NewKey().Length, 1, 255);
    }

    [Fact]
    public void AnotherCredentialConversationDoorOrBodyIsAnotherFamily()
    {
        var family = RetryKeys.Of("/v1/chat/completions", "7:key:3", null, Body, "1", null).Family;

        Assert.NotEqual(family, RetryKeys.Of("/v1/chat/completions", "7:key:4", null, Body, "1", null).Family);
        Assert.NotEqual(family, RetryKeys.Of("/v1/chat/completions", "8:key:3", null, Body, "1", null).Family);
        Assert.NotEqual(family, RetryKeys.Of("/v1/chat/completions", "7:key:3", "0b7e4c6a-2f1d-4e8b-9a53-6c1f0e2d3b4a", Body, "1",
            null).Family);
        Assert.NotEqual(family, RetryKeys.Of("/v1/responses", "7:key:3", null, Body, "1", null).Family);
        Assert.NotEqual(family, RetryKeys.Of("/v1/chat/completions", "7:key:3", null, [.. Body, (byte)' '], "1", null).Family);
    }

    [Theory]
    [InlineData(null, null, 0, 0)]
    [InlineData("x", "x", 0, 0)]
    [InlineData("2", null, 2, 2 * 660)]
    [InlineData("1", "100000", 1, 3600)]
    [InlineData("99", "600", 99, 3600)]
    public void TheWindowReachesAsFarBackAsTheClientsAttemptsCan(string? retryCount, string? timeout, int attempt, int seconds)
    {
        var call = RetryKeys.Of("/v1/chat/completions", "7:login:x", null, Body, retryCount, timeout);

        Assert.Equal(attempt, call.Attempt);
        Assert.Equal(TimeSpan.FromSeconds(seconds), call.Window);
    }
}
