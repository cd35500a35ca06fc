using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Quotas;
using AgentCloud.Shared.Scheduling;
using Dapper;
using Npgsql;

namespace AgentCloud.Api.Features.Schedules;

public sealed class ScheduleRow
{
    public Guid Id { get; init; }
    public int AgentId { get; init; }
    public string? Name { get; init; }
    public string Kind { get; init; } = "";
    public string? Cron { get; init; }
    public string? TimeZone { get; init; }
    public int? IntervalSeconds { get; init; }
    public DateTime? RunAt { get; init; }
    public string Payload { get; init; } = "null";
    public Guid? Session { get; init; }
    public DateTime? NextDueAt { get; init; }
    public DateTime? LastDueAt { get; init; }
    public Guid? LastMessageId { get; init; }
    public string? LastError { get; init; }
    public int Fired { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; init; }
}

/// <summary>What a schedule is: its timing, the message it sends (payload JSON) and the session (null: a new one each time).</summary>
public sealed record ScheduleDefinition(string? Name, ScheduleTiming Timing, string PayloadJson, Guid? Session);

/// <summary>
/// An agent's schedules, as its owner writes and reads them (the caller has checked the agent is theirs). Firing is the worker's
/// (AgentCloud.AgentWorker/Scheduling). A write wakes the workers' schedule loops (<see cref="ScheduleChannel.Name"/>), so a
/// schedule due sooner than they planned to look is not late.
/// </summary>
public sealed class ScheduleStore(NpgsqlDataSource dataSource, QuotaChecks quotas, Wakeups wakeups)
{
    private const string Columns =
        """
        id, agent_id, name, kind, cron, time_zone, interval_seconds, run_at, payload::text AS payload, session, next_due_at,
        last_due_at, last_message_id, last_error, fired, created_at, updated_at
        """;

    /// <summary>Throws <see cref="QuotaExceededException"/> when the agent has as many schedules as it may.</summary>
    public async Task<ScheduleRow> CreateAsync(int agentId, ScheduleDefinition schedule, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // The agent's row lock: two creates racing for the last place take turns.
        var (count, now) = await connection.QuerySingleAsync<(long, DateTime)>(new CommandDefinition(
            """
            SELECT (SELECT count(*) FROM agent_schedules WHERE agent_id = a.id), now() AT TIME ZONE 'utc'
            FROM agents a WHERE a.id = @agentId FOR NO KEY UPDATE
            """,
            new { agentId }, transaction, cancellationToken: cancellationToken));
        var limit = quotas.Limits.SchedulesPerAgent;
        if (count >= limit)
        {
            throw new QuotaExceededException(QuotaNames.SchedulesPerAgent, limit,
                $"Quota {QuotaNames.SchedulesPerAgent} reached: an agent may have at most {limit} schedules. Delete one first.");
        }

        var row = await connection.QuerySingleAsync<ScheduleRow>(new CommandDefinition(
            $"""
            INSERT INTO agent_schedules (agent_id, name, kind, cron, time_zone, interval_seconds, run_at, payload, session, next_due_at)
            VALUES (@agentId, @Name, @Kind, @Cron, @TimeZone, @IntervalSeconds, @RunAt, @PayloadJson::jsonb, @Session, @nextDueAt)
            RETURNING {Columns}
            """,
            Parameters(agentId, schedule, now, id: null), transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        wakeups.Post(ScheduleChannel.Name, "");
        return row;
    }

    public async Task<IReadOnlyList<ScheduleRow>> ListAsync(int agentId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<ScheduleRow>(new CommandDefinition(
            $"SELECT {Columns} FROM agent_schedules WHERE agent_id = @agentId ORDER BY created_at, id",
            new { agentId }, cancellationToken: cancellationToken))).AsList();
    }

    public async Task<ScheduleRow?> FindAsync(int agentId, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<ScheduleRow>(new CommandDefinition(
            $"SELECT {Columns} FROM agent_schedules WHERE agent_id = @agentId AND id = @id",
            new { agentId, id }, cancellationToken: cancellationToken));
    }

    /// <summary>Replaces the schedule's definition; its due time starts over from the new timing (what it fired is kept).</summary>
    public async Task<ScheduleRow?> ReplaceAsync(int agentId, Guid id, ScheduleDefinition schedule, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var now = await connection.ExecuteScalarAsync<DateTime>(new CommandDefinition(
            "SELECT now() AT TIME ZONE 'utc'", cancellationToken: cancellationToken));
        var row = await connection.QuerySingleOrDefaultAsync<ScheduleRow>(new CommandDefinition(
            $"""
            UPDATE agent_schedules
            SET name = @Name, kind = @Kind, cron = @Cron, time_zone = @TimeZone, interval_seconds = @IntervalSeconds, run_at = @RunAt,
                payload = @PayloadJson::jsonb, session = @Session, next_due_at = @nextDueAt, last_error = NULL
            WHERE agent_id = @agentId AND id = @id
            RETURNING {Columns}
            """,
            Parameters(agentId, schedule, now, id), cancellationToken: cancellationToken));
        if (row is not null)
        {
            wakeups.Post(ScheduleChannel.Name, "");
        }

        return row;
    }

    /// <summary>Deleted: nothing more fires (a fire in progress holds the row, and the delete waits for its commit).</summary>
    public async Task<bool> DeleteAsync(int agentId, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM agent_schedules WHERE agent_id = @agentId AND id = @id", new { agentId, id },
            cancellationToken: cancellationToken)) > 0;
    }

    private static object Parameters(int agentId, ScheduleDefinition schedule, DateTime now, Guid? id)
    {
        var timing = schedule.Timing;
        return new
        {
            id, agentId, schedule.Name, timing.Kind, timing.Cron, timing.TimeZone, timing.IntervalSeconds,
            RunAt = Unzoned(timing.RunAt), schedule.PayloadJson, schedule.Session,
            nextDueAt = Unzoned(ScheduleTimes.FirstDue(timing, now)),
        };
    }

    // TIMESTAMP columns hold UTC without a zone; Npgsql refuses a Kind Utc value for them.
    private static DateTime? Unzoned(DateTime? time) => time is { } t
        ? DateTime.SpecifyKind(t.Kind == DateTimeKind.Local ? t.ToUniversalTime() : t, DateTimeKind.Unspecified)
        : null;
}
