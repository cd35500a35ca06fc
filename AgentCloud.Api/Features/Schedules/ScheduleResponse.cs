using System.Text.Json;
using AgentCloud.Api.Infrastructure;

namespace AgentCloud.Api.Features.Schedules;

/// <summary>A schedule as the API shows it: times in UTC; <c>session</c> null when each message starts a new one.</summary>
public sealed record ScheduleResponse(
    Guid Id,
    int AgentId,
    string? Name,
    string Kind,
    string? Cron,
    string? TimeZone,
    int? IntervalSeconds,
    DateTime? At,
    JsonElement Payload,
    Guid? Session,
    DateTime? NextDueAt,
    DateTime? LastDueAt,
    Guid? LastMessageId,
    string? LastError,
    int Fired,
    DateTime CreatedAt,
    DateTime UpdatedAt)
{
    public static ScheduleResponse From(ScheduleRow row)
    {
        using var payload = JsonDocument.Parse(row.Payload);
        return new(row.Id, row.AgentId, row.Name, row.Kind, row.Cron, row.TimeZone, row.IntervalSeconds, row.RunAt.AsUtc(),
            payload.RootElement.Clone(), row.Session, row.NextDueAt.AsUtc(), row.LastDueAt.AsUtc(), row.LastMessageId, row.LastError,
            row.Fired, row.CreatedAt.AsUtc(), row.UpdatedAt.AsUtc());
    }
}

public sealed record ScheduleList(IReadOnlyList<ScheduleResponse> Schedules);
