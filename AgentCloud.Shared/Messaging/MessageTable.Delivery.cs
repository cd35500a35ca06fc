using AgentCloud.Shared.Data;
using Npgsql;

namespace AgentCloud.Shared.Messaging;

// The outcomes of a claimed message other than an inbound run's done: delivered, retried, dead.
public static partial class MessageTable
{
    /// <summary>Marks an outbound message delivered, with the peer's answer to a sync POST (then <see cref="Wakeups.Finished"/>).</summary>
    public static Task CompleteDeliveryAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, string deliveredTo,
        string? replyJson, CancellationToken cancellationToken) =>
        connection.ExecutePreparedAsync(
            $"""
            UPDATE messages
            SET status = '{MessageStatus.Done}', delivered_to = @deliveredTo, reply = @replyJson::jsonb, error = NULL,
                completed_at = {Now}, {ReleaseLease}
            WHERE id = @id
            """,
            new { id, deliveredTo, replyJson },
            transaction, cancellationToken);

    /// <summary>Gives the lease back and makes the message due again after <paramref name="delay"/>.</summary>
    public static Task RetryLaterAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, TimeSpan delay,
        string error, CancellationToken cancellationToken) =>
        connection.ExecutePreparedAsync(
            $"UPDATE messages SET status = '{Failed}', available_at = {Now} + @delay, error = @error, {ReleaseLease} WHERE id = @id",
            new { id, delay, error }, transaction, cancellationToken);

    /// <summary>Nobody will try again: dead with its reason (then <see cref="Wakeups.Finished"/>).</summary>
    public static Task MarkDeadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, string error,
        CancellationToken cancellationToken) =>
        connection.ExecutePreparedAsync(
            $"UPDATE messages SET status = '{MessageStatus.Dead}', error = @error, completed_at = {Now}, {ReleaseLease} WHERE id = @id",
            new { id, error }, transaction, cancellationToken);
}
