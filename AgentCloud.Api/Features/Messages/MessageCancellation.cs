using AgentCloud.Shared.Messaging;
using Npgsql;

namespace AgentCloud.Api.Features.Messages;

/// <summary>
/// Withdraws a message that has not finished: queued (or waiting for a retry) it is never claimed;
/// processing, its worker's fence no longer holds (status is not 'processing'), so whatever the run
/// produces is not committed. Wakes <c>?wait</c> callers and streams like any end.
/// </summary>
public sealed class MessageCancellation(NpgsqlDataSource dataSource, Wakeups wakeups)
{
    /// <summary>The message afterwards; null when the agent has no such inbound message.</summary>
    public async Task<(MessageRow? Message, bool Canceled)> CancelAsync(int agentId, Guid messageId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var canceled = await MessageTable.CancelAsync(connection, transaction, agentId, messageId, cancellationToken);
        var message = canceled
            ?? await MessageTable.GetAsync(connection, transaction, agentId, messageId, MessageDirection.Inbound, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (canceled is not null)
        {
            wakeups.Finished(messageId);
            // A canceled head (a waiting run, say) no longer holds its agent's later messages back.
            wakeups.Queued(canceled);
        }

        return (message, canceled is not null);
    }
}
