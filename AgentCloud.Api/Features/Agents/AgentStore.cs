using System.Text.Json;
using AgentCloud.Shared.Quotas;
using AgentCloud.Shared.Data;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.UAgents;
using Dapper;
using Npgsql;

namespace AgentCloud.Api.Features.Agents;

public class AgentRow
{
    public int Id { get; init; }
    public string Name { get; init; } = "";
    public int? UserId { get; init; }
    public string Config { get; init; } = "{}";
    public string? Address { get; init; }
    public DateTime? CreatedAt { get; init; }
    public DateTime? UpdatedAt { get; init; }
}

/// <summary>Agents by owner: every query is scoped to the caller, so another user's agent is simply absent.</summary>
public sealed class AgentStore(NpgsqlDataSource dataSource, IAgentAddressing addressing, QuotaChecks quotas, Wakeups wakeups)
{
    private const string Columns = "id, name, user_id, COALESCE(config, '{}'::jsonb)::text AS config, address, created_at, updated_at";

    /// <summary>
    /// The id comes first so the address (derived from it) is in the row from the start; row and its
    /// "created" log line commit together. Throws <see cref="QuotaExceededException"/> when the user has
    /// no room for it.
    /// </summary>
    public async Task<AgentRow> CreateAsync(int userId, string name, JsonElement config, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await quotas.CheckAgentsAsync(connection, transaction, userId, config.GetRawText(), replacing: null, cancellationToken);
        var id = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            "SELECT nextval(pg_get_serial_sequence('agents', 'id'))::int", transaction: transaction, cancellationToken: cancellationToken));
        var agent = await connection.QuerySingleAsync<AgentRow>(new CommandDefinition(
            $"""
            INSERT INTO agents (id, name, user_id, config, address)
            VALUES (@id, @name, @userId, @config::jsonb, @address)
            RETURNING {Columns}
            """,
            new { id, name, userId, config = config.GetRawText(), address = addressing.AddressFor(id) },
            transaction, cancellationToken: cancellationToken));
        await AgentLogs.WriteAsync(connection, id, LogLevels.Info, "Agent created", transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        wakeups.LogWritten(id);
        return agent;
    }

    public async Task<AgentRow?> FindAsync(int userId, int id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<AgentRow>(new CommandDefinition(
            $"SELECT {Columns} FROM agents WHERE id = @id AND user_id = @userId", new { id, userId },
                cancellationToken: cancellationToken));
    }

    public async Task<bool> ExistsAsync(int userId, int id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM agents WHERE id = @id AND user_id = @userId)", new { id, userId },
            cancellationToken: cancellationToken));
    }

    /// <summary>Newest first; <paramref name="take"/> rows with an id below <paramref name="beforeId"/> when given.</summary>
    /// <param name="only">When given, just these agents (an API key limited to them).</param>
    public async Task<IReadOnlyList<AgentRow>> ListAsync(int userId, int? beforeId, int take, CancellationToken cancellationToken,
        IReadOnlySet<int>? only = null)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var keyset = beforeId is null ? "" : "AND id < @beforeId";
        var restriction = only is null ? "" : "AND id = ANY(@ids)";
        var rows = await connection.QueryAsync<AgentRow>(new CommandDefinition(
            $"SELECT {Columns} FROM agents WHERE user_id = @userId {keyset} {restriction} ORDER BY id DESC LIMIT @take",
            new { userId, beforeId, take, ids = only?.ToArray() }, cancellationToken: cancellationToken));
        return rows.AsList();
    }

    /// <summary>Null when the caller has no such agent. A changed config is noted in the agent's log.</summary>
    public async Task<AgentRow?> UpdateAsync(int userId, int id, string? name, JsonElement? config, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (config is { } replacement)
        {
            await quotas.CheckAgentsAsync(connection, transaction, userId, replacement.GetRawText(), replacing: id, cancellationToken);
        }

        var updated = await connection.QuerySingleOrDefaultAsync<UpdatedAgentRow>(new CommandDefinition(
            """
            WITH old AS (SELECT id, config FROM agents WHERE id = @id AND user_id = @userId FOR UPDATE)
            UPDATE agents SET name = COALESCE(@name, agents.name), config = COALESCE(@config::jsonb, agents.config)
            FROM old
            WHERE agents.id = old.id
            RETURNING agents.id, agents.name, agents.user_id, COALESCE(agents.config, '{}'::jsonb)::text AS config,
                agents.address, agents.created_at, agents.updated_at,
                (@config::jsonb IS NOT NULL AND @config::jsonb IS DISTINCT FROM old.config) AS config_changed
            """,
            new { id, userId, name, config = config?.GetRawText() }, transaction, cancellationToken: cancellationToken));
        if (updated is null)
        {
            return null;
        }

        if (updated.ConfigChanged)
        {
            await AgentLogs.WriteAsync(connection, id, LogLevels.Info, "Agent config updated", transaction, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        if (updated.ConfigChanged)
        {
            wakeups.LogWritten(id);
        }

        return updated;
    }

    /// <summary>False when the caller has no such agent. Its logs go with it (ON DELETE CASCADE).</summary>
    public async Task<bool> DeleteAsync(int userId, int id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM agents WHERE id = @id AND user_id = @userId", new { id, userId }, cancellationToken: cancellationToken)) > 0;
    }

    private sealed class UpdatedAgentRow : AgentRow
    {
        public bool ConfigChanged { get; init; }
    }
}
