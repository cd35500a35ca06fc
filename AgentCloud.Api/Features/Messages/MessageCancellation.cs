using AgentCloud.Shared.Messaging;
using Dapper;
using Npgsql;

namespace AgentCloud.Api.Features.Messages;

/// <summary>
/// Withdraws a message that has not finished: queued (or waiting for a retry) it is never claimed;
/// processing, its worker's fence no longer holds (status is not 'processing'), so whatever the run
/// produces is not committed. Wakes <c>?wait</c> callers and streams like any end.
/// </summary>
public sealed class MessageCancellation(NpgsqlDataSource dataSource)
{
    /// <summary>The message afterwards; null when the agent has no such inbound message.</summary>
    public async Task<(MessageRow? Message, bool Canceled)> CancelAsync(int agentId, Guid messageId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var canceled = await connection.QuerySingleOrDefaultAsync<MessageRow>(new CommandDefinition(
            $"""
            UPDATE messages
            SET status = 'canceled', error = 'canceled by its sender', completed_at = (now() AT TIME ZONE 'utc'),
                lease_owner = NULL, lease_until = NULL
            WHERE id = @messageId AND agent_id = @agentId AND direction = 'inbound' AND status IN ('queued', 'processing', 'failed')
            RETURNING {Shared.Messaging.Messages.Columns}
            """,
            new { messageId, agentId }, transaction, cancellationToken: cancellationToken));
        if (canceled is not null)
        {
            await connection.ExecuteAsync(new CommandDefinition("SELECT pg_notify(@channel, @id)",
                new { channel = NotifyChannels.MessageFinished, id = messageId.ToString("D") }, transaction, cancellationToken: cancellationToken));
            await transaction.CommitAsync(cancellationToken);
            return (canceled, true);
        }

        var existing = await connection.QuerySingleOrDefaultAsync<MessageRow>(new CommandDefinition(
            $"SELECT {Shared.Messaging.Messages.Columns} FROM messages WHERE id = @messageId AND agent_id = @agentId AND direction = 'inbound'",
            new { messageId, agentId }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return (existing, false);
    }
}
