using System.Text.Json;
using AgentCloud.Api.Features.Messages;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Quotas;
using AgentCloud.Shared.Scheduling;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Schedules;

/// <summary>
/// The body of a create or a replace: exactly one of <c>cron</c> (with <c>time_zone</c>, UTC when left out),
/// <c>interval_seconds</c> or <c>at</c>; the message as <c>payload</c> or <c>text</c>; optionally a <c>session</c>.
/// </summary>
public abstract class ScheduleBody : IAgentRequest
{
    public const int MaxNameLength = 100;

    [BindFrom("agent_id")]
    public int AgentId { get; init; }

    /// <summary>Optional: a label for the owner.</summary>
    public string? Name { get; init; }

    /// <summary>A cron expression: five fields (minute hour day month weekday) or six with seconds first; or @hourly, @daily …</summary>
    public string? Cron { get; init; }

    /// <summary>The cron's time zone (an IANA id such as Europe/Berlin); UTC when left out.</summary>
    public string? TimeZone { get; init; }

    /// <summary>Every this many seconds, the first one interval_seconds from now (as a uAgents on_interval handler).</summary>
    public int? IntervalSeconds { get; init; }

    /// <summary>Once, at this time (ISO 8601 with an offset, in the future).</summary>
    public DateTimeOffset? At { get; init; }

    /// <summary>The message: any JSON value, at most 32 KiB of JSON. Give this or text.</summary>
    public JsonElement Payload { get; init; }

    /// <summary>Shorthand for a payload that is this JSON string.</summary>
    public string? Text { get; init; }

    /// <summary>A UUID: every message goes to this session. Left out: each message starts a new one.</summary>
    public string? Session { get; init; }

    public ScheduleTiming Timing() =>
        Cron is not null ? new ScheduleTiming(ScheduleKinds.Cron, Cron.Trim(), TimeZone ?? "UTC", null, null)
        : IntervalSeconds is not null ? new ScheduleTiming(ScheduleKinds.Interval, null, null, IntervalSeconds, null)
        : new ScheduleTiming(ScheduleKinds.Once, null, null, null, At!.Value.UtcDateTime);

    public ScheduleDefinition Definition() =>
        new(Name, Timing(), MessageRules.PayloadJson(Payload, Text), MessageRules.ParseSession(Session));
}

public static class ScheduleRules
{
    /// <summary>The rules of <see cref="ScheduleBody"/>: one timing that parses and is not more often than the operator allows.</summary>
    public static void AddScheduleRules<T>(this AbstractValidator<T> validator, QuotaOptions limits) where T : ScheduleBody
    {
        validator.RuleFor(r => r.Name).MaximumLength(ScheduleBody.MaxNameLength);
        validator.RuleFor(r => r)
            .Must(r => new object?[] { r.Cron, r.IntervalSeconds, r.At }.Count(value => value is not null) == 1)
            .WithName("body")
            .WithMessage("Give exactly one of cron, interval_seconds or at.");
        validator.RuleFor(r => r.Cron)
            .Must(cron => ScheduleTimes.ParseCron(cron) is not null)
            .When(r => r.Cron is not null)
            .WithMessage("cron must be a cron expression of five fields (minute hour day-of-month month day-of-week), or six with "
                + "seconds first, or a macro such as @daily; e.g. \"0 9 * * MON-FRI\".");
        validator.RuleFor(r => r.TimeZone)
            .Must(zone => ScheduleTimes.FindTimeZone(zone) is not null)
            .When(r => r.TimeZone is not null)
            .WithMessage("time_zone must be a time zone id this server knows, such as UTC or Europe/Berlin.");
        validator.RuleFor(r => r.TimeZone)
            .Null()
            .When(r => r.Cron is null)
            .WithMessage("time_zone goes with cron only.");
        validator.RuleFor(r => r.IntervalSeconds)
            .InclusiveBetween(1, 366 * 24 * 3600)
            .When(r => r.IntervalSeconds is not null);
        validator.RuleFor(r => r.At)
            .Must(at => at > DateTimeOffset.UtcNow)
            .When(r => r.At is not null)
            .WithMessage("at must be in the future.");
        validator.RuleFor(r => r)
            .Must(r => ScheduleTimes.ShortestGap(r.Timing(), DateTime.UtcNow) >= limits.ScheduleMinInterval)
            .When(r => (r.Cron is not null && ScheduleTimes.ParseCron(r.Cron) is not null
                    && ScheduleTimes.FindTimeZone(r.TimeZone ?? "UTC") is not null && r.IntervalSeconds is null && r.At is null)
                || (r.IntervalSeconds > 0 && r.Cron is null && r.At is null))
            .WithName("body")
            .WithMessage($"A schedule may send at most one message every {limits.ScheduleMinInterval.TotalSeconds:0.###} seconds.");
        validator.RuleFor(r => r).HasPayloadOrText(r => r.Payload, r => r.Text);
        validator.RuleFor(r => r).StorablePayload(r => r.Payload, r => r.Text);
        validator.RuleFor(r => r.Session).ValidSession();
    }
}
