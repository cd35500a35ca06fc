using Cronos;

namespace AgentCloud.Shared.Scheduling;

public static class ScheduleKinds
{
    public const string Cron = "cron";
    public const string Interval = "interval";
    public const string Once = "once";

    public static readonly IReadOnlyList<string> All = [Cron, Interval, Once];
}

/// <summary>When a schedule is due: a cron expression in a time zone, every so many seconds, or once at a time (UTC).</summary>
public sealed record ScheduleTiming(string Kind, string? Cron, string? TimeZone, int? IntervalSeconds, DateTime? RunAt);

/// <summary>
/// The due times of a schedule, as pure functions of its timing and the database's clock (UTC), so the API (first due time,
/// validation) and the worker (the next one after a fire) cannot disagree. Missed due times are not made up: after a fire, the
/// next due time is the first one after now, so a schedule whose workers were down fires once on recovery.
/// </summary>
public static class ScheduleTimes
{
    /// <summary>A cron expression of five fields (minute first) or six (seconds first), or a macro such as <c>@daily</c>.</summary>
    public static CronExpression? ParseCron(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Length > 200)
        {
            return null;
        }

        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Length;
        var format = fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard;
        return CronExpression.TryParse(text.Trim(), format, out var cron) ? cron : null;
    }

    /// <summary>An IANA (or Windows) time zone id the machine knows, such as <c>Europe/Berlin</c> or <c>UTC</c>.</summary>
    public static TimeZoneInfo? FindTimeZone(string? id) =>
        !string.IsNullOrWhiteSpace(id) && id.Length <= 100 && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone : null;

    /// <summary>The first due time of a new (or changed) schedule, after <paramref name="now"/>; null: never (a time in the
    /// past).</summary>
    public static DateTime? FirstDue(ScheduleTiming timing, DateTime now) => timing.Kind switch
    {
        ScheduleKinds.Cron => NextCron(timing, Utc(now)),
        ScheduleKinds.Interval => Utc(now).AddSeconds(timing.IntervalSeconds!.Value),
        _ => Utc(timing.RunAt!.Value),
    };

    /// <summary>
    /// The due time after the one that just fired (<paramref name="due"/>), on the database's clock <paramref name="now"/>: an
    /// interval keeps its cadence (due + k periods) and a cron its expression, each skipping the periods missed while no
    /// worker ran; a one-time schedule is done (null).
    /// </summary>
    public static DateTime? NextDue(ScheduleTiming timing, DateTime due, DateTime now)
    {
        due = Utc(due);
        now = Utc(now);
        switch (timing.Kind)
        {
            case ScheduleKinds.Cron:
                return NextCron(timing, due > now ? due : now);
            case ScheduleKinds.Interval:
                var period = TimeSpan.FromSeconds(timing.IntervalSeconds!.Value);
                var periods = now < due ? 1 : (long)((now - due) / period) + 1;
                return due + period * periods;
            default:
                return null;
        }
    }

    /// <summary>The shortest time between two of the next few due times (a cron's or an interval's), to hold against the minimum.</summary>
    public static TimeSpan ShortestGap(ScheduleTiming timing, DateTime now)
    {
        if (timing.Kind == ScheduleKinds.Interval)
        {
            return TimeSpan.FromSeconds(timing.IntervalSeconds!.Value);
        }

        if (timing.Kind != ScheduleKinds.Cron)
        {
            return TimeSpan.MaxValue;
        }

        var shortest = TimeSpan.MaxValue;
        var previous = NextCron(timing, Utc(now));
        for (var i = 0; i < 16 && previous is { } from; i++)
        {
            var next = NextCron(timing, from);
            if (next is { } to && to - from < shortest)
            {
                shortest = to - from;
            }

            previous = next;
        }

        return shortest;
    }

    private static DateTime? NextCron(ScheduleTiming timing, DateTime after) =>
        ParseCron(timing.Cron)!.GetNextOccurrence(after, FindTimeZone(timing.TimeZone)!);

    // Timestamps are stored as UTC without a zone: they come back Unspecified, and Cronos wants them marked.
    private static DateTime Utc(DateTime time) => time.Kind == DateTimeKind.Utc ? time : DateTime.SpecifyKind(time, DateTimeKind.Utc);
}

/// <summary>The NOTIFY channel that wakes the workers' schedule loops when a schedule is written.</summary>
public static class ScheduleChannel
{
    public const string Name = "schedules";
}
