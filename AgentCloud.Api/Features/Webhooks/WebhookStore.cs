using AgentCloud.Api.Features.Callbacks;
using Dapper;
using Npgsql;

namespace AgentCloud.Api.Features.Webhooks;

public sealed class WebhookRow
{
    public Guid Id { get; init; }
    public int UserId { get; init; }
    public string Url { get; init; } = "";
    public string[] Events { get; init; } = [];
    public int[]? AgentIds { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; init; }
}

public sealed class DeliveryRow
{
    public long Id { get; init; }
    public Guid MessageId { get; init; }
    public string Event { get; init; } = "";
    public string Status { get; init; } = "";
    public int Attempts { get; init; }
    public int? LastStatusCode { get; init; }
    public string? LastError { get; init; }
    public DateTime? LastAttemptAt { get; init; }
    public DateTime AvailableAt { get; init; }
    public DateTime? DeliveredAt { get; init; }
    public DateTime CreatedAt { get; init; }
}

/// <summary>A user's webhooks (the secret is written once and read only by the sender) and their deliveries.</summary>
public sealed class WebhookStore(NpgsqlDataSource dataSource)
{
    /// <summary>Webhooks one user may have.</summary>
    public const int MaxPerUser = 20;

    private const string Columns = "id, user_id, url, events, agent_ids, created_at, updated_at";

    /// <summary>The new webhook, or null when the user already has <see cref="MaxPerUser"/>.</summary>
    public async Task<WebhookRow?> CreateAsync(int userId, string url, string[] events, int[]? agentIds, string secret,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // The user's row is the lock that makes the count and the insert one step (two creates cannot both pass the cap).
        var count = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            "SELECT (SELECT count(*) FROM webhooks WHERE user_id = u.id)::int FROM users u WHERE u.id = @userId FOR UPDATE",
            new { userId }, transaction, cancellationToken: cancellationToken));
        if (count >= MaxPerUser)
        {
            return null;
        }

        var row = await connection.QuerySingleAsync<WebhookRow>(new CommandDefinition(
            $"""
            INSERT INTO webhooks (user_id, url, events, agent_ids, secret) VALUES (@userId, @url, @events, @agentIds, @secret)
            RETURNING {Columns}
            """,
            new { userId, url, events, agentIds, secret }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return row;
    }

    public async Task<IReadOnlyList<WebhookRow>> ListAsync(int userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<WebhookRow>(new CommandDefinition(
            $"SELECT {Columns} FROM webhooks WHERE user_id = @userId ORDER BY created_at, id", new { userId },
            cancellationToken: cancellationToken))).AsList();
    }

    public async Task<WebhookRow?> GetAsync(int userId, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<WebhookRow>(new CommandDefinition(
            $"SELECT {Columns} FROM webhooks WHERE id = @id AND user_id = @userId", new { id, userId },
            cancellationToken: cancellationToken));
    }

    /// <summary>Changes what is given (<paramref name="allAgents"/>: back to every agent); null when the user has no such
    /// webhook.</summary>
    public async Task<WebhookRow?> UpdateAsync(int userId, Guid id, string? url, string[]? events, int[]? agentIds, bool allAgents,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<WebhookRow>(new CommandDefinition(
            $"""
            UPDATE webhooks
            SET url = COALESCE(@url, url), events = COALESCE(@events, events),
                agent_ids = CASE WHEN @allAgents THEN NULL ELSE COALESCE(@agentIds, agent_ids) END
            WHERE id = @id AND user_id = @userId
            RETURNING {Columns}
            """,
            new { id, userId, url, events, agentIds, allAgents }, cancellationToken: cancellationToken));
    }

    /// <summary>False when the user has no such webhook. Its deliveries go with it, those still to send included.</summary>
    public async Task<bool> DeleteAsync(int userId, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM webhooks WHERE id = @id AND user_id = @userId", new { id, userId }, cancellationToken: cancellationToken)) > 0;
    }

    /// <summary>A webhook's deliveries, newest first, those before <paramref name="beforeId"/>; one more than <paramref name="take"/>
    /// asks.</summary>
    public async Task<IReadOnlyList<DeliveryRow>> DeliveriesAsync(Guid webhookId, long? beforeId, int take,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<DeliveryRow>(new CommandDefinition(
            $"""
            SELECT id, message_id, event, status, attempts, last_status_code, last_error, last_attempt_at, available_at, delivered_at,
                   created_at
            FROM callback_deliveries
            WHERE webhook_id = @webhookId AND (@beforeId::bigint IS NULL OR id < @beforeId)
            ORDER BY id DESC LIMIT @take
            """,
            new { webhookId, beforeId, take }, cancellationToken: cancellationToken))).AsList();
    }

    /// <summary>The ids among <paramref name="agentIds"/> that are not the user's agents.</summary>
    public async Task<IReadOnlyList<int>> NotOwnedAsync(int userId, int[] agentIds, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<int>(new CommandDefinition(
            "SELECT id FROM unnest(@agentIds) AS wanted(id) WHERE NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = wanted.id AND " +
            "a.user_id = @userId)",
            new { userId, agentIds }, cancellationToken: cancellationToken))).AsList();
    }
}

/// <summary>A webhook as the API shows it: never its secret.</summary>
public sealed record WebhookResponse(Guid Id, string Url, IReadOnlyList<string> Events, IReadOnlyList<int>? AgentIds, DateTime CreatedAt,
    DateTime UpdatedAt)
{
    public static WebhookResponse From(WebhookRow row) => new(row.Id, row.Url, row.Events, row.AgentIds,
        DateTime.SpecifyKind(row.CreatedAt, DateTimeKind.Utc), DateTime.SpecifyKind(row.UpdatedAt, DateTimeKind.Utc));
}

/// <summary>One delivery (its <c>webhook-id</c> is <c>msg_{id}</c>): its event and message, where it stands, and (unfinished) when the next
/// attempt is due.</summary>
public sealed record DeliveryResponse(long Id, Guid MessageId, string Event, string Status, int Attempts, int? LastStatusCode,
    string? LastError, DateTime? LastAttemptAt, DateTime? NextAttemptAt, DateTime? DeliveredAt, DateTime CreatedAt)
{
    public static DeliveryResponse From(DeliveryRow row) => new(row.Id, row.MessageId, row.Event, row.Status,
        row.Attempts, row.LastStatusCode, row.LastError, Utc(row.LastAttemptAt),
        row.Status is DeliveryStatus.Pending or DeliveryStatus.Delivering ? Utc(row.AvailableAt) : null, Utc(row.DeliveredAt),
            Utc(row.CreatedAt)!.Value);

    private static DateTime? Utc(DateTime? value) => value is { } v ? DateTime.SpecifyKind(v, DateTimeKind.Utc) : null;
}

public static class WebhookProblems
{
    public static IResult NotFound() => Infrastructure.ProblemResponses.Problem(StatusCodes.Status404NotFound, "Webhook not found.");
}
