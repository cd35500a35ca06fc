using Dapper;
using Npgsql;

namespace AgentCloud.Api.Features.A2A;

public sealed class PushConfigRow
{
    public Guid MessageId { get; init; }
    public string Id { get; init; } = "";
    public string Url { get; init; } = "";
    public string? AuthScheme { get; init; }
    public DateTime CreatedAt { get; init; }
}

/// <summary>The push notification configs of A2A tasks (<c>a2a_push_configs</c>, migration 0095), each on an inbound message of an
/// agent.</summary>
public sealed class PushConfigStore(NpgsqlDataSource dataSource)
{
    /// <summary>Configs one task may have.</summary>
    public const int MaxPerTask = 10;

    private const string Columns = "message_id, id, url, auth_scheme, created_at";

    // The states the messages_callbacks trigger pushes (migration 0095).
    private const string Pushed = "('done', 'dead', 'canceled', 'waiting')";

    public enum Outcome { Saved, NoTask, Full }

    /// <summary>
    /// Saves (or replaces) a config of the agent's task. The task's row is share-locked first, so a state change commits either
    /// before (and is pushed to the new config here, once) or after (and its trigger sees the config): none falls between.
    /// </summary>
    public async Task<(Outcome Outcome, PushConfigRow? Row)> SaveAsync(int agentId, Guid taskId, string id, string url, string? token,
        string? authScheme, string? authCredentials, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var task = await connection.QuerySingleOrDefaultAsync<(Guid Id, int Configs)?>(new CommandDefinition(
            """
            SELECT m.id, (SELECT count(*) FROM a2a_push_configs p WHERE p.message_id = m.id AND p.id <> @id)::int
            FROM messages m WHERE m.id = @taskId AND m.agent_id = @agentId AND m.direction = 'inbound'
            FOR SHARE OF m
            """,
            new { taskId, agentId, id }, transaction, cancellationToken: cancellationToken));
        if (task is null)
        {
            return (Outcome.NoTask, null);
        }

        if (task.Value.Configs >= MaxPerTask)
        {
            return (Outcome.Full, null);
        }

        var row = await connection.QuerySingleAsync<PushConfigRow>(new CommandDefinition(
            $"""
            INSERT INTO a2a_push_configs (message_id, id, url, token, auth_scheme, auth_credentials)
            VALUES (@taskId, @id, @url, @token, @authScheme, @authCredentials)
            ON CONFLICT (message_id, id) DO UPDATE
            SET url = EXCLUDED.url, token = EXCLUDED.token, auth_scheme = EXCLUDED.auth_scheme, auth_credentials = EXCLUDED.auth_credentials
            RETURNING {Columns}
            """,
            new { taskId, id, url, token, authScheme, authCredentials }, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            $"""
            INSERT INTO callback_deliveries (push_message_id, push_config_id, message_id, event, data)
            SELECT m.id, @id, m.id, 'task.' || m.status, callbacks_message_data(m)
            FROM messages m WHERE m.id = @taskId AND m.status IN {Pushed}
            """,
            new { taskId, id }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return (Outcome.Saved, row);
    }

    public async Task<PushConfigRow?> GetAsync(int agentId, Guid taskId, string id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<PushConfigRow>(new CommandDefinition(
            $"""
            SELECT p.{Columns.Replace(", ", ", p.", StringComparison.Ordinal)} FROM a2a_push_configs p JOIN messages m ON m.id =
                p.message_id
            WHERE p.message_id = @taskId AND p.id = @id AND m.agent_id = @agentId
            """,
            new { agentId, taskId, id }, cancellationToken: cancellationToken));
    }

    /// <summary>The task's configs by id after <paramref name="afterId"/>; one more than <paramref name="take"/> asks.</summary>
    public async Task<IReadOnlyList<PushConfigRow>> ListAsync(int agentId, Guid taskId, string? afterId, int take,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<PushConfigRow>(new CommandDefinition(
            $"""
            SELECT p.{Columns.Replace(", ", ", p.", StringComparison.Ordinal)} FROM a2a_push_configs p JOIN messages m ON m.id =
                p.message_id
            WHERE p.message_id = @taskId AND m.agent_id = @agentId AND (@afterId::text IS NULL OR p.id > @afterId)
            ORDER BY p.id LIMIT @take
            """,
            new { agentId, taskId, afterId, take }, cancellationToken: cancellationToken))).AsList();
    }

    /// <summary>Deletes a config (and what is still to send to it); false when there was none.</summary>
    public async Task<bool> DeleteAsync(int agentId, Guid taskId, string id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            """
            DELETE FROM a2a_push_configs p USING messages m
            WHERE p.message_id = @taskId AND p.id = @id AND m.id = p.message_id AND m.agent_id = @agentId
            """,
            new { agentId, taskId, id }, cancellationToken: cancellationToken)) > 0;
    }

    public async Task<bool> TaskExistsAsync(int agentId, Guid taskId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE id = @taskId AND agent_id = @agentId AND direction = 'inbound')",
            new { agentId, taskId }, cancellationToken: cancellationToken));
    }
}
