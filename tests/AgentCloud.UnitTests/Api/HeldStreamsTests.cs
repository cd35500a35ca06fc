using AgentCloud.Api.Features.Messages.Events;
using AgentCloud.Shared.Quotas;
using Microsoft.Extensions.Options;

namespace AgentCloud.UnitTests.Api;

public sealed class HeldStreamsTests
{
    [Fact]
    public void AUserPastItsShareAndTheProcessPastItsTotalAreRefusedUntilASlotComesBack()
    {
        var streams = new HeldStreams(Options.Create(new StreamOptions { MaxPerUser = 2, MaxTotal = 3 }));
        var first = streams.Hold(1);
        using var second = streams.Hold(1);

        var perUser = Assert.Throws<QuotaExceededException>(() => streams.Hold(1));
        Assert.Equal(HeldStreams.PerUserQuota, perUser.Quota);
        Assert.Equal(429, perUser.Status);
        using var other = streams.Hold(2);
        Assert.Equal(HeldStreams.TotalQuota, Assert.Throws<QuotaExceededException>(() => streams.Hold(3)).Quota);

        first.Dispose();
        first.Dispose();
        using var again = streams.Hold(3);
        Assert.Equal(HeldStreams.TotalQuota, Assert.Throws<QuotaExceededException>(() => streams.Hold(1)).Quota);
    }
}
