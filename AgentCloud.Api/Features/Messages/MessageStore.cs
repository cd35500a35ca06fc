using AgentCloud.Api.Features.Agents;
using AgentCloud.Api.Features.Quotas;
using AgentCloud.Shared.Data;
using AgentCloud.Shared.Messaging;
using Dapper;
using Npgsql;
using MessageTable = AgentCloud.Shared.Messaging.Messages;

namespace AgentCloud.Api.Features.Messages;

/// <summary>How a sent message travels: into an agent's inbox here, or the outbox for remote delivery.</summary>
public static class Delivery
{
    public const string Local = "local";
    public const string Remote = "remote";
}

public sealed record SentMessage(MessageRow Message, string Delivery);

/// <summary>What to list of one agent's messages.</summary>
public sealed record MessageQuery(int AgentId, string? Status, string? Direction, long? BeforeSeq, int Take);

/// <summary>
/// Messages of the caller's agents. Each send commits its row (and the NOTIFY that wakes a worker) in
/// one transaction before the API answers, so an accepted message is never lost.
/// </summary>
public sealed class MessageStore(NpgsqlDataSource dataSource, IAgentAddressing addressing, QuotaChecks quotas)
{
    /// <summary>The owner's message into their agent's inbox; null when the caller has no such agent.</summary>
    public async Task<MessageRow?> SendToAgentAsync(int userId, int agentId, string payloadJson, Guid session, string? traceparent,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var address = await OwnedAgentAddressAsync(connection, transaction, userId, agentId, cancellationToken);
        if (address is null)
        {
            return null;
        }

        await quotas.TakeMessageAsync(connection, transaction, userId, agentId, MessageDirection.Inbound, cancellationToken);

        var (message, _) = await MessageTable.EnqueueAsync(connection, transaction,
            new NewMessage(agentId, MessageDirection.Inbound, Senders.User(userId), address, session, payloadJson,
                Traceparent: traceparent),
            cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return message;
    }

    /// <summary>
    /// A message from the caller's agent to <paramref name="target"/> (a normalised address): straight into
    /// the inbox of the agent hosted here under it, whoever owns that one, or else an outbound row that
    /// waits for remote delivery. Null when the caller has no such agent. <paramref name="overHttp"/> makes it
    /// an outbound row even for an agent hosted here (an address in the static endpoint map);
    /// <paramref name="waitForReply"/> marks an outbound row for a sync POST whose answer becomes its reply.
    /// </summary>
    public async Task<SentMessage?> SendFromAgentAsync(int userId, int agentId, string target, string payloadJson, Guid session,
        string? traceparent, CancellationToken cancellationToken, bool overHttp = false, bool waitForReply = false)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var sender = await OwnedAgentAddressAsync(connection, transaction, userId, agentId, cancellationToken);
        if (sender is null)
        {
            return null;
        }

        var localAgent = overHttp ? null : await MessageTable.FindLocalAgentAsync(connection, transaction, target, cancellationToken);
        // A local target's inbox fills (whoever owns it); a remote one's queue is this agent's outbox.
        await quotas.TakeMessageAsync(connection, transaction, userId, localAgent ?? agentId,
            localAgent is null ? MessageDirection.Outbound : MessageDirection.Inbound, cancellationToken);
        var (message, _) = await MessageTable.EnqueueAsync(connection, transaction,
            localAgent is { } targetId
                ? new NewMessage(targetId, MessageDirection.Inbound, sender, target, session, payloadJson, Traceparent: traceparent)
                : new NewMessage(agentId, MessageDirection.Outbound, sender, target, session, payloadJson, Traceparent: traceparent),
            cancellationToken);
        if (localAgent is null && waitForReply)
        {
            await connection.ExecuteAsync(new CommandDefinition("UPDATE messages SET wait_for_reply = true WHERE id = @id",
                new { id = message.Id }, transaction, cancellationToken: cancellationToken));
        }

        await AgentLogs.WriteAsync(connection, agentId, LogLevels.Info, $"Sent message {message.Id} to {target}", transaction,
            cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new SentMessage(message, localAgent is null ? Delivery.Remote : Delivery.Local);
    }

    /// <summary>One message of an agent (whose ownership the caller has checked).</summary>
    public async Task<MessageRow?> FindAsync(int agentId, Guid messageId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<MessageRow>(new CommandDefinition(
            $"SELECT {MessageTable.Columns} FROM messages WHERE id = @messageId AND agent_id = @agentId",
            new { messageId, agentId }, cancellationToken: cancellationToken));
    }

    /// <summary>Newest first by <c>seq</c>, walking the index <c>messages (agent_id, seq DESC)</c>.</summary>
    public async Task<IReadOnlyList<MessageRow>> ListAsync(MessageQuery query, CancellationToken cancellationToken)
    {
        var conditions = new List<string> { "agent_id = @AgentId" };
        if (query.Status is not null)
        {
            conditions.Add("status = @Status");
        }

        if (query.Direction is not null)
        {
            conditions.Add("direction = @Direction");
        }

        if (query.BeforeSeq is not null)
        {
            conditions.Add("seq < @BeforeSeq");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<MessageRow>(new CommandDefinition(
            $"""
            SELECT {MessageTable.Columns}
            FROM messages
            WHERE {string.Join(" AND ", conditions)}
            ORDER BY seq DESC
            LIMIT @Take
            """,
            query, cancellationToken: cancellationToken));
        return rows.AsList();
    }

    /// <summary>
    /// Deletes one message of an agent (whose ownership the caller has checked); false when there is none.
    /// A message a worker holds right now goes too: the worker's finish is fenced on its lease, finds no
    /// row and commits nothing (no reply, no log lines), so it neither fails nor retries.
    /// </summary>
    public async Task<bool> DeleteAsync(int agentId, Guid messageId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM messages WHERE id = @messageId AND agent_id = @agentId",
            new { messageId, agentId }, cancellationToken: cancellationToken)) > 0;
    }

    /// <summary>Deletes every message of an agent in <paramref name="status"/> (both directions); how many went.</summary>
    public async Task<int> PurgeAsync(int agentId, string status, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM messages WHERE agent_id = @agentId AND status = @status",
            new { agentId, status }, cancellationToken: cancellationToken));
    }

    // FOR KEY SHARE: the agent cannot be deleted between this check and the insert that references it.
    private async Task<string?> OwnedAgentAddressAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int userId,
        int agentId, CancellationToken cancellationToken)
    {
        var agent = await connection.QuerySingleOrDefaultAsync<AgentAddressRow>(new CommandDefinition(
            "SELECT id, address FROM agents WHERE id = @agentId AND user_id = @userId FOR KEY SHARE",
            new { agentId, userId }, transaction, cancellationToken: cancellationToken));
        return agent is null ? null : agent.Address ?? addressing.AddressFor(agent.Id);
    }

    private sealed class AgentAddressRow
    {
        public int Id { get; init; }
        public string? Address { get; init; }
    }
}
