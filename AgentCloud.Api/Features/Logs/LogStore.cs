using AgentCloud.Shared.Hosting;
using Dapper;
using Npgsql;

namespace AgentCloud.Api.Features.Logs;

public sealed class LogRow
{
    public int Id { get; init; }
    public int AgentId { get; init; }
    public string? LogLevel { get; init; }
    public string? Message { get; init; }
    public DateTime Timestamp { get; init; }
}

/// <summary>What to read of one agent's log; times are UTC wall time as stored.</summary>
public sealed record LogQuery(int AgentId, string? Level, DateTime? Since, DateTime? Until, (DateTime Timestamp, int Id)? After, int Take);

public sealed class LogStore(NpgsqlDataSource dataSource)
{
    // A live tail follows ids, which grow as lines are written; lines without a time are left out, as in the list.
    private const string StreamColumns = "id, agent_id, log_level, message, timestamp";

    /// <summary>
    /// Newest first by (timestamp, id), walking the index <c>agent_logs (agent_id, timestamp DESC, id DESC)</c>
    /// with a row-value keyset, so any page costs the same however deep it is.
    /// </summary>
    public async Task<IReadOnlyList<LogRow>> ReadAsync(LogQuery query, CancellationToken cancellationToken)
    {
        var conditions = new List<string> { "agent_id = @AgentId", "timestamp IS NOT NULL" };
        if (query.Level is not null)
        {
            conditions.Add("log_level = @Level");
        }

        if (query.Since is not null)
        {
            conditions.Add("timestamp >= @Since");
        }

        if (query.Until is not null)
        {
            conditions.Add("timestamp < @Until");
        }

        if (query.After is not null)
        {
            conditions.Add("(timestamp, id) < (@AfterTimestamp, @AfterId)");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<LogRow>(new CommandDefinition(
            $"""
            SELECT id, agent_id, log_level, message, timestamp
            FROM agent_logs
            WHERE {string.Join(" AND ", conditions)}
            ORDER BY timestamp DESC, id DESC
            LIMIT @Take
            """,
            new
            {
                query.AgentId, query.Level, query.Since, query.Until, query.Take,
                AfterTimestamp = query.After?.Timestamp, AfterId = query.After?.Id,
            },
            cancellationToken: cancellationToken));
        return rows.AsList();
    }

    /// <summary>Up to <paramref name="take"/> lines written after line <paramref name="afterId"/>, oldest first.</summary>
    public async Task<IReadOnlyList<LogRow>> ReadAfterAsync(int agentId, int afterId, int take, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenQueuedConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<LogRow>(new CommandDefinition(
            $"SELECT {StreamColumns} FROM agent_logs WHERE agent_id = @agentId AND id > @afterId AND timestamp IS NOT NULL ORDER BY id " +
            $"LIMIT @take",
            new { agentId, afterId, take }, cancellationToken: cancellationToken));
        return rows.AsList();
    }

    /// <summary>
    /// Lines with ids in (<paramref name="afterId"/>, <paramref name="upToId"/>] other than <paramref name="seen"/>,
    /// oldest first: lines whose transactions committed after a line with a higher id was read.
    /// </summary>
    public async Task<IReadOnlyList<LogRow>> ReadMissedAsync(int agentId, int afterId, int upToId, int[] seen, int take,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenQueuedConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<LogRow>(new CommandDefinition(
            $"""
            SELECT {StreamColumns} FROM agent_logs
            WHERE agent_id = @agentId AND id > @afterId AND id <= @upToId AND timestamp IS NOT NULL AND NOT (id = ANY(@seen))
            ORDER BY id LIMIT @take
            """,
            new { agentId, afterId, upToId, seen, take }, cancellationToken: cancellationToken));
        return rows.AsList();
    }

    /// <summary>The newest <paramref name="count"/> lines, oldest first, and the id to follow on from.</summary>
    public async Task<(IReadOnlyList<LogRow> Lines, int LastId)> ReadTailAsync(int agentId, int count, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenQueuedConnectionAsync(cancellationToken);
        var lastId = await connection.ExecuteScalarAsync<int?>(new CommandDefinition(
            "SELECT max(id) FROM agent_logs WHERE agent_id = @agentId", new { agentId }, cancellationToken: cancellationToken)) ?? 0;
        var rows = await connection.QueryAsync<LogRow>(new CommandDefinition(
            $"SELECT {StreamColumns} FROM agent_logs WHERE agent_id = @agentId AND id <= @lastId AND timestamp IS NOT NULL ORDER BY id " +
            $"DESC LIMIT @count",
            new { agentId, lastId, count }, cancellationToken: cancellationToken));
        return (rows.Reverse().ToList(), lastId);
    }
}
