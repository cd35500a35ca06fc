using System.Text.Json.Nodes;
using Dapper;
using Npgsql;

namespace AgentCloud.Shared.Messaging;

/// <summary>One stored event of a run: <see cref="Seq"/> numbers a message's events from 1.</summary>
public sealed record RunEventRow(int Seq, string Type, string Data);

/// <summary>The SQL of <c>run_events</c> (migration 0060): append and read in order.</summary>
public static class RunEvents
{
    /// <summary>NOTIFY channel: a run event was stored; payload: the message id.</summary>
    public const string Channel = "run_events";

    /// <summary>
    /// Appends an event as the message's next seq (the caller then wakes its streams). One batch, so one implicit
    /// transaction: the advisory lock (per message) makes the max+1 safe when a run that moved to another
    /// worker appends while the old one still does, and a reader never sees seq n+1 before n.
    /// Locks are taken in one order, the message's row before the advisory lock: the insert's foreign key takes the row
    /// (FOR KEY SHARE) anyway, and taken after the advisory lock it deadlocked an approval's decision (no row lock yet) with
    /// the worker that held the row (its fence, FOR UPDATE) and then appended.
    /// </summary>
    public static async Task<int> AppendAsync(NpgsqlConnection connection, Guid messageId, string type, string dataJson,
        CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                Command("SELECT 1 FROM messages WHERE id = $1 FOR KEY SHARE", messageId),
                Command("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 60))", messageId),
                Command(
                    """
                    INSERT INTO run_events (message_id, seq, type, data)
                    SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3::jsonb FROM run_events WHERE message_id = $1
                    RETURNING seq
                    """, messageId, type, dataJson),
            },
        };
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return reader.GetInt32(0);
    }

    /// <summary>The message's events after <paramref name="afterSeq"/>, in order, at most <paramref name="take"/>.</summary>
    public static async Task<IReadOnlyList<RunEventRow>> ReadAfterAsync(NpgsqlConnection connection, Guid messageId, long afterSeq,
        int take, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<RunEventRow>(new CommandDefinition(
            """
            SELECT seq, type, data::text AS data FROM run_events
            WHERE message_id = @messageId AND seq > @afterSeq
            ORDER BY seq LIMIT @take
            """,
            new { messageId, afterSeq, take }, cancellationToken: cancellationToken))).AsList();

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }
}

/// <summary>Run events stored in PostgreSQL, so the API's streams (on any replica) see them at once.</summary>
public sealed class PostgresRunEvents(NpgsqlDataSource dataSource, Wakeups wakeups) : IRunEvents
{
    public async ValueTask PublishAsync(Guid messageId, string type, JsonNode data, CancellationToken cancellationToken)
    {
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            await RunEvents.AppendAsync(connection, messageId, type, data.ToJsonString(), cancellationToken);
        }

        wakeups.Post(RunEvents.Channel, messageId.ToString("D"));
    }
}
