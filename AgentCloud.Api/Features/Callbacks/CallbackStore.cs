using Dapper;
using Npgsql;

namespace AgentCloud.Api.Features.Callbacks;

public static class DeliveryStatus
{
    public const string Pending = "pending";
    public const string Delivering = "delivering";
    public const string Delivered = "delivered";
    public const string Dead = "dead";
}

/// <summary>A delivery as the loop claims it, with its destination: a webhook (url, secret) or a push config (url, token, auth).</summary>
public sealed class ClaimedDelivery
{
    public long Id { get; init; }
    public Guid? WebhookId { get; init; }
    public string? PushConfigId { get; init; }
    public Guid MessageId { get; init; }
    public string Event { get; init; } = "";
    public string Data { get; init; } = "{}";
    public int Attempts { get; init; }
    public DateTime CreatedAt { get; init; }
    public string Url { get; init; } = "";
    public string? Secret { get; init; }
    public string? Token { get; init; }
    public string? AuthScheme { get; init; }
    public string? AuthCredentials { get; init; }
}

/// <summary>
/// The statements of the callback outbox (<c>callback_deliveries</c>, migration 0095): claim under a lease, then record one
/// attempt fenced on that lease. The rows are written by the <c>messages_callbacks</c> trigger and <c>callbacks_emit</c>.
/// </summary>
public sealed class CallbackStore(NpgsqlDataSource dataSource)
{
    private const string Now = Shared.Messaging.MessageTable.Now;
    private const string Unfinished = $"status IN ('{DeliveryStatus.Pending}', '{DeliveryStatus.Delivering}')";

    /// <summary>
    /// Up to <paramref name="limit"/> due deliveries, each the oldest unfinished one of its message and destination (so a
    /// receiver sees a message's events in order), leased to <paramref name="owner"/>: a lease that runs out makes it due again.
    /// </summary>
    public async Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(string owner, int limit, TimeSpan lease,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<ClaimedDelivery>(new CommandDefinition(
            $"""
            WITH due AS (
                SELECT d.id FROM callback_deliveries d
                WHERE d.{Unfinished} AND d.available_at <= {Now}
                  AND NOT EXISTS (
                      SELECT 1 FROM callback_deliveries e
                      WHERE e.message_id = d.message_id AND e.{Unfinished} AND e.id < d.id
                        AND e.webhook_id IS NOT DISTINCT FROM d.webhook_id
                        AND e.push_config_id IS NOT DISTINCT FROM d.push_config_id)
                ORDER BY d.available_at
                LIMIT @limit
                FOR UPDATE SKIP LOCKED),
            claimed AS (
                UPDATE callback_deliveries d
                SET status = '{DeliveryStatus.Delivering}', lease_owner = @owner, available_at = {Now} + @lease,
                    attempts = d.attempts + 1, last_attempt_at = {Now}
                FROM due WHERE d.id = due.id
                RETURNING d.*)
            SELECT c.id, c.webhook_id, c.push_config_id, c.message_id, c.event, c.data::text AS data, c.attempts, c.created_at,
                   COALESCE(w.url, p.url) AS url, w.secret, p.token, p.auth_scheme, p.auth_credentials
            FROM claimed c
            LEFT JOIN webhooks w ON w.id = c.webhook_id
            LEFT JOIN a2a_push_configs p ON p.message_id = c.push_message_id AND p.id = c.push_config_id
            ORDER BY c.id
            """,
            new { owner, limit, lease }, cancellationToken: cancellationToken))).AsList();
    }

    public Task DeliveredAsync(long id, string owner, int statusCode, CancellationToken cancellationToken) => RecordAsync(
        $"status = '{DeliveryStatus.Delivered}', delivered_at = {Now}, last_error = NULL", id, owner, statusCode, null, null,
            cancellationToken);

    public Task RetryLaterAsync(long id, string owner, int? statusCode, string error, TimeSpan delay, CancellationToken cancellationToken)
        =>
        RecordAsync($"status = '{DeliveryStatus.Pending}', available_at = {Now} + @delay, last_error = @error", id, owner, statusCode,
            error, delay,
            cancellationToken);

    public Task DeadAsync(long id, string owner, int? statusCode, string error, CancellationToken cancellationToken) => RecordAsync(
        $"status = '{DeliveryStatus.Dead}', last_error = @error", id, owner, statusCode, error, null, cancellationToken);

    private async Task RecordAsync(string set, long id, string owner, int? statusCode, string? error, TimeSpan? delay,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // Fenced on the lease: a delivery whose lease ran out (and that another process took again) records nothing here.
        await connection.ExecuteAsync(new CommandDefinition(
            $"""
            UPDATE callback_deliveries SET {set}, last_status_code = @statusCode, lease_owner = NULL
            WHERE id = @id AND lease_owner = @owner AND status = '{DeliveryStatus.Delivering}'
            """,
            new { id, owner, statusCode, error, delay }, cancellationToken: cancellationToken));
    }
}
