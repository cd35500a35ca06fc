using System.Diagnostics;
using System.Globalization;
using AgentCloud.Shared.Data;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Quotas;
using AgentCloud.Shared.Scheduling;
using AgentCloud.Shared.UAgents;
using Dapper;
using Npgsql;

namespace AgentCloud.AgentWorker.Scheduling;

/// <summary>
/// One look at the schedules: claims the due ones (<c>FOR UPDATE SKIP LOCKED</c>: another worker takes the next ones, never the
/// same), and for each, in the claim's transaction, queues its message and moves its <c>next_due_at</c> on, so a due time fires
/// exactly once whichever worker takes it and whatever dies. The message is the owner's, sent as a POST to /messages would be:
/// it counts against the owner's day and the agent's queue by the same rules (<see cref="QuotaChecks"/>). A due time the quotas
/// refuse sends nothing, says why on the agent's log and on the schedule (<c>last_error</c>), and the schedule tries again at
/// its next due time. A due time carries into its message as the message's idempotency key,
/// <c>schedule:{schedule id}:{due time, UTC}</c>, which also stops a second copy at the database.
/// </summary>
public sealed class ScheduleFirer(NpgsqlDataSource dataSource, QuotaChecks quotas, IAgentAddressing addressing, Wakeups wakeups,
    ILogger<ScheduleFirer> logger)
{
    public const string ActivitySourceName = "AgentCloud.AgentWorker.Schedules";
    private static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    /// <summary>The idempotency key of the message a schedule sends for its due time <paramref name="due"/> (UTC).</summary>
    public static string KeyFor(Guid scheduleId, DateTime due) =>
        $"schedule:{scheduleId:D}:" +
        DateTime.SpecifyKind(due, DateTimeKind.Utc).ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", CultureInfo.InvariantCulture);

    /// <summary>Fires up to <paramref name="batchSize"/> due schedules; how many, and how long until the next one is due (null: none
    /// is).</summary>
    public async Task<(int Fired, TimeSpan? UntilNext)> FireDueAsync(int batchSize, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        List<MessageRow> queued = [];
        HashSet<int> logged = [];
        int claimed;
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            // The agent's row under KEY SHARE too: a concurrent delete of the agent (which cascades to its schedules) then waits
            // for this commit instead of deadlocking with the message's foreign key; one already deleting it is skipped.
            var due = (await connection.QueryAsync<DueSchedule>(new CommandDefinition(
                """
                SELECT s.id, s.agent_id, a.user_id, a.address, s.kind, s.cron, s.time_zone, s.interval_seconds, s.run_at,
                       s.payload::text AS payload, s.session, s.next_due_at, now() AT TIME ZONE 'utc' AS now
                FROM agent_schedules s JOIN agents a ON a.id = s.agent_id
                WHERE s.next_due_at <= now() AT TIME ZONE 'utc' AND a.user_id IS NOT NULL
                ORDER BY s.next_due_at
                LIMIT @batchSize
                FOR UPDATE OF s SKIP LOCKED FOR KEY SHARE OF a SKIP LOCKED
                """,
                new { batchSize }, transaction, cancellationToken: cancellationToken))).AsList();
            claimed = due.Count;
            foreach (var schedule in due)
            {
                var (message, refusal) = await FireAsync(connection, transaction, schedule, cancellationToken);
                var next = ScheduleTimes.NextDue(schedule.Timing, schedule.NextDueAt, schedule.Now);
                await connection.ExecuteAsync(new CommandDefinition(
                    """
                    UPDATE agent_schedules
                    SET next_due_at = @next, last_due_at = @NextDueAt, last_message_id = COALESCE(@messageId, last_message_id),
                        last_error = @refusal, fired = fired + (CASE WHEN @messageId IS NULL THEN 0 ELSE 1 END)
                    WHERE id = @Id
                    """,
                    new
                    {
                        schedule.Id, schedule.NextDueAt, messageId = message?.Id, refusal,
                        next = next is { } n ? DateTime.SpecifyKind(n, DateTimeKind.Unspecified) : (DateTime?)null,
                    },
                    transaction, cancellationToken: cancellationToken));
                if (message is not null)
                {
                    queued.Add(message);
                }

                if (refusal is not null)
                {
                    var line = $"Schedule {schedule.Id:D} sent nothing for its due time {Iso(schedule.NextDueAt)}: {refusal} "
                        + (next is { } retry ? $"It tries again at its next due time, {Iso(retry)}." : "It is done.");
                    await AgentLogs.WriteAsync(connection, schedule.AgentId, LogLevels.Warning, line, transaction, cancellationToken);
                    logged.Add(schedule.AgentId);
                    logger.LogInformation("Schedule {ScheduleId} of agent {AgentId} was refused: {Refusal}", schedule.Id, schedule.AgentId,
                        refusal);
                }
            }

            await transaction.CommitAsync(cancellationToken);
        }

        foreach (var message in queued)
        {
            wakeups.Queued(message);
        }

        foreach (var agentId in logged)
        {
            wakeups.LogWritten(agentId);
        }

        var seconds = await connection.ExecuteScalarAsync<double?>(new CommandDefinition(
            "SELECT EXTRACT(EPOCH FROM min(next_due_at) - (now() AT TIME ZONE 'utc'))::float8 FROM agent_schedules WHERE next_due_at IS " +
            "NOT NULL",
            cancellationToken: cancellationToken));
        return (claimed, seconds is { } s ? TimeSpan.FromSeconds(Math.Max(0, s)) : null);
    }

    // The message in a savepoint, so a refusal (a quota) undoes it alone and the schedule still moves on.
    private async Task<(MessageRow? Message, string? Refusal)> FireAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        DueSchedule schedule, CancellationToken cancellationToken)
    {
        using var activity = ActivitySource.StartActivity("Fire schedule", ActivityKind.Producer);
        activity?.SetTag("agent.id", schedule.AgentId);
        activity?.SetTag("schedule.id", schedule.Id.ToString("D"));
        var message = new NewMessage(schedule.AgentId, MessageDirection.Inbound, Senders.User(schedule.UserId),
            schedule.Address ?? addressing.AddressFor(schedule.AgentId), schedule.Session ?? Guid.NewGuid(), schedule.Payload,
            Traceparent: activity is { IdFormat: ActivityIdFormat.W3C, Id: { Length: 55 } id } ? id : null,
            IdempotencyKey: KeyFor(schedule.Id, schedule.NextDueAt));
        for (var attempt = 1; ; attempt++)
        {
            await transaction.SaveAsync(Savepoint, cancellationToken);
            try
            {
                await quotas.CheckOwnerLaneAsync(connection, transaction, schedule.AgentId, schedule.UserId, cancellationToken);
                var (row, repeat) = await MessageTable.EnqueueAsync(connection, transaction, message, cancellationToken,
                    await quotas.CountMessageAsync(connection, transaction, schedule.UserId, cancellationToken));
                if (repeat)
                {
                    // This due time's message is already there (its riding count ran anyway): keep the first, count nothing.
                    await transaction.RollbackAsync(Savepoint, cancellationToken);
                    return (null, null);
                }

                await transaction.ReleaseAsync(Savepoint, cancellationToken);
                return (row, null);
            }
            catch (QuotaExceededException exception)
            {
                await transaction.RollbackAsync(Savepoint, cancellationToken);
                return (null, exception.Message);
            }
            catch (DayFillingUpException) when (attempt == 1)
            {
                // As QuotaChecks.SendAsync does: the day came near its end; the second try takes its turn.
                await transaction.RollbackAsync(Savepoint, cancellationToken);
            }
        }
    }

    private const string Savepoint = "fire";

    private static string Iso(DateTime time) =>
        DateTime.SpecifyKind(time, DateTimeKind.Utc).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private sealed class DueSchedule
    {
        public Guid Id { get; init; }
        public int AgentId { get; init; }
        public int UserId { get; init; }
        public string? Address { get; init; }
        public string Kind { get; init; } = "";
        public string? Cron { get; init; }
        public string? TimeZone { get; init; }
        public int? IntervalSeconds { get; init; }
        public DateTime? RunAt { get; init; }
        public string Payload { get; init; } = "null";
        public Guid? Session { get; init; }
        public DateTime NextDueAt { get; init; }
        public DateTime Now { get; init; }

        public ScheduleTiming Timing => new(Kind, Cron, TimeZone, IntervalSeconds, RunAt);
    }
}
