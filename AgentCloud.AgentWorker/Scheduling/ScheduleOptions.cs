namespace AgentCloud.AgentWorker.Scheduling;

/// <summary>Tunables of the schedule loop, bound from <c>AgentWorker:Schedules</c> (env: <c>AgentWorker__Schedules__…</c>).</summary>
public sealed class ScheduleOptions
{
    public const string SectionName = "AgentWorker:Schedules";

    /// <summary>
    /// The longest the loop sleeps between looks when no schedule is due sooner. It sleeps until the next due time otherwise, and a
    /// written schedule wakes it (NOTIFY), so this only bounds how late a due time is when a wake-up was lost.
    /// </summary>
    public TimeSpan MaxSleep { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Due schedules claimed (and fired) in one transaction.</summary>
    public int BatchSize { get; set; } = 32;

    internal static bool AreValid(ScheduleOptions options) => options.MaxSleep > TimeSpan.Zero && options.BatchSize is > 0 and <= 1000;
}
