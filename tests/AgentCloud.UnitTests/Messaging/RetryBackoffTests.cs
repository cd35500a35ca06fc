using AgentCloud.Shared.Messaging;

namespace AgentCloud.UnitTests.Messaging;

public sealed class RetryBackoffTests
{
    private static readonly TimeSpan Base = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Max = TimeSpan.FromMinutes(5);

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(5, 16)]
    [InlineData(9, 256)]
    public void WithoutJitterTheDelayDoublesWithEachAttempt(int attempt, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), RetryBackoff.Delay(attempt, Base, Max, jitterSample: 0.5));

    [Theory]
    [InlineData(10)]
    [InlineData(64)]
    [InlineData(int.MaxValue)]
    public void TheDelayNeverExceedsTheCap(int attempt) =>
        Assert.Equal(Max, RetryBackoff.Delay(attempt, Base, Max, jitterSample: 0.999));

    [Fact]
    public void JitterStaysWithinTenPercent()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(3600), RetryBackoff.Delay(3, Base, Max, jitterSample: 0));
        Assert.Equal(TimeSpan.FromMilliseconds(4400), RetryBackoff.Delay(3, Base, Max, jitterSample: 1));
        for (var i = 0; i < 1000; i++)
        {
            var delay = RetryBackoff.Delay(3, Base, Max);
            Assert.InRange(delay, TimeSpan.FromMilliseconds(3600), TimeSpan.FromMilliseconds(4400));
        }
    }

    [Fact]
    public void ASmallBaseGivesSmallDelays() =>
        Assert.Equal(TimeSpan.FromMilliseconds(800), RetryBackoff.Delay(3, TimeSpan.FromMilliseconds(200), Max, jitterSample: 0.5));

    [Fact]
    public void AttemptsCountFromOne() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => RetryBackoff.Delay(0, Base, Max, 0.5));

    [Fact]
    public void ACapBelowTheBaseIsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => RetryBackoff.Delay(1, Base, TimeSpan.FromMilliseconds(10), 0.5));
}
