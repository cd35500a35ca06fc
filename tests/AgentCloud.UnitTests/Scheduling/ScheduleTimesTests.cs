using AgentCloud.Shared.Scheduling;

namespace AgentCloud.UnitTests.Scheduling;

public sealed class ScheduleTimesTests
{
    private static readonly DateTime Noon = new(2026, 3, 28, 12, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void AnIntervalKeepsItsCadenceAndSkipsThePeriodsMissed()
    {
        var every10 = new ScheduleTiming(ScheduleKinds.Interval, null, null, 10, null);

        Assert.Equal(Noon.AddSeconds(10), ScheduleTimes.NextDue(every10, Noon, Noon.AddMilliseconds(5)));
        // Down for 35 s: the one fire on recovery (for 12:00:00) is followed by 12:00:40, not by 12:00:10, :20, :30.
        Assert.Equal(Noon.AddSeconds(40), ScheduleTimes.NextDue(every10, Noon, Noon.AddSeconds(35)));
        Assert.Equal(Noon.AddSeconds(40), ScheduleTimes.NextDue(every10, Noon, Noon.AddSeconds(30)));
    }

    [Fact]
    public void ACronFollowsItsTimeZoneAcrossTheClockChange()
    {
        var nineInBerlin = new ScheduleTiming(ScheduleKinds.Cron, "0 9 * * *", "Europe/Berlin", null, null);

        // 28 March is CET (UTC+1); on 29 March Berlin is on CEST (UTC+2).
        Assert.Equal(new DateTime(2026, 3, 29, 7, 0, 0, DateTimeKind.Utc), ScheduleTimes.FirstDue(nineInBerlin, Noon));
        var missedTwoDays = ScheduleTimes.NextDue(nineInBerlin, new DateTime(2026, 3, 27, 8, 0, 0), Noon.AddDays(2));
        Assert.Equal(new DateTime(2026, 3, 31, 7, 0, 0, DateTimeKind.Utc), missedTwoDays);
    }

    [Fact]
    public void AOneTimeScheduleIsDoneAfterItFires()
    {
        var once = new ScheduleTiming(ScheduleKinds.Once, null, null, null, Noon.AddHours(1));

        Assert.Equal(Noon.AddHours(1), ScheduleTimes.FirstDue(once, Noon));
        Assert.Null(ScheduleTimes.NextDue(once, Noon.AddHours(1), Noon.AddHours(2)));
    }

    [Theory]
    [InlineData("*/5 * * * * *", 5)]
    [InlineData("0,1 * * * *", 60)]
    [InlineData("@hourly", 3600)]
    public void TheShortestGapIsTheClosestTwoDueTimes(string cron, int seconds)
    {
        var timing = new ScheduleTiming(ScheduleKinds.Cron, cron, "UTC", null, null);

        Assert.Equal(TimeSpan.FromSeconds(seconds), ScheduleTimes.ShortestGap(timing, Noon));
    }

    [Theory]
    [InlineData("61 * * * *")]
    [InlineData("* * *")]
    [InlineData("")]
    [InlineData("0 9 * * FUNDAY")]
    public void ABadCronDoesNotParse(string cron) => Assert.Null(ScheduleTimes.ParseCron(cron));
}
