using Dapper;
using Npgsql;

namespace AgentCloud.Shared.Data;

/// <summary>Levels as the original Python backend wrote them (the logging module's names).</summary>
public static class LogLevels
{
    public const string Debug = "DEBUG";
    public const string Info = "INFO";
    public const string Warning = "WARNING";
    public const string Error = "ERROR";
    public const string Critical = "CRITICAL";

    public static readonly IReadOnlyList<string> All = [Debug, Info, Warning, Error, Critical];
}

public static class AgentLogs
{
    /// <summary>Appends a line to an agent's log, inside the caller's transaction when one is given.</summary>
    public static Task WriteAsync(NpgsqlConnection connection, int agentId, string level, string message,
        NpgsqlTransaction? transaction = null, CancellationToken cancellationToken = default) =>
        connection.ExecutePreparedAsync(
            "INSERT INTO agent_logs (agent_id, log_level, message) VALUES (@agentId, @level, @message)",
            new { agentId, level, message }, transaction, cancellationToken);

    /// <summary>Appends <paramref name="lines"/> to an agent's log, in order, in one statement of the caller's transaction.</summary>
    public static Task WriteAsync(NpgsqlConnection connection, int agentId, IReadOnlyList<(string Level, string Message)> lines,
        NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        lines.Count == 0 ? Task.CompletedTask : connection.ExecutePreparedAsync(
            InsertLines,
            new
            {
                logAgentIds = lines.Select(_ => agentId).ToArray(),
                levels = lines.Select(line => line.Level).ToArray(), messages = lines.Select(line => line.Message).ToArray(),
            },
            transaction, cancellationToken);

    /// <summary>The statement of
    /// <see cref="WriteAsync(NpgsqlConnection, int, IReadOnlyList{ValueTuple{string, string}}, NpgsqlTransaction, CancellationToken)"/>
    /// (parameters <c>@logAgentIds, @levels, @messages</c>: each line's agent, level and text), to ride in another's round trip.</summary>
    public const string InsertLines =
        """
        INSERT INTO agent_logs (agent_id, log_level, message)
        SELECT line.agent_id, line.level, line.message
        FROM unnest(@logAgentIds::int[], @levels::text[], @messages::text[]) WITH ORDINALITY AS line(agent_id, level, message, n)
        ORDER BY line.n
        """;
}
