using AgentCloud.Api.Features.Agents;
using AgentCloud.Shared.Quotas;
using AgentCloud.Shared.Data;
using AgentCloud.Shared.Hosting;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.UAgents;
using Dapper;
using Npgsql;

namespace AgentCloud.Api.Features.Messages;

/// <summary>How a sent message travels: into an agent's inbox here, or the outbox for remote delivery.</summary>
public static class Delivery
{
    public const string Local = "local";
    public const string Remote = "remote";
}

/// <summary>Why a send stored nothing new, or <see cref="Sent"/> (<see cref="SendResult.Repeat"/>: the key's first message).</summary>
public enum SendOutcome
{
    Sent,
    NoSuchAgent,
    KeyReused,
    Unresolvable,
}

public sealed record SendResult(SendOutcome Outcome, MessageRow? Message = null,
    string Delivery = AgentCloud.Api.Features.Messages.Delivery.Local,
    bool Repeat = false)
{
    public static readonly SendResult NoSuchAgent = new(SendOutcome.NoSuchAgent);
}

/// <summary>
/// Messages of the caller's agents. Each send commits its row before the API answers, so an accepted
/// message is never lost, and then wakes a worker. With an idempotency
/// key, a repeat returns the first message and stores nothing.
/// </summary>
public sealed class MessageStore(NpgsqlDataSource dataSource, IAgentAddressing addressing, StaticEndpointMap endpointMap,
    QuotaChecks quotas, Wakeups wakeups) : IAsyncDisposable
{
    // Owners' sends commit together (see Batcher): a send answered 202 was committed in its batch. One whose batch left no
    // room in the user's day for it runs again alone, where the day decides it exactly.
    private readonly Batcher<OwnerSend, OwnerSendResult> ownerSends = new("send messages", MessageTable.MaxOwnerSendsPerStatement, loops: 6,
        async sends =>
        {
            await using var connection = await dataSource.OpenQueuedConnectionAsync(CancellationToken.None);
            var day = await quotas.DayQuotaAsync(connection, CancellationToken.None);
            var results = await MessageTable.EnqueueForOwnersAsync(connection, sends, quotas.Limits.QueuedMessagesPerAgent, day,
                CancellationToken.None);
            foreach (var stored in results.Where(result => result.Stored))
            {
                wakeups.Queued(stored.Message!);
            }

            return results;
        },
        runAgainAlone: result => result is { Owned: true, HasAddress: true, QueueFull: false, HasRoom: false, Message: null });

    public ValueTask DisposeAsync() => ownerSends.DisposeAsync();

    /// <summary>The owner's message into their agent's inbox.</summary>
    public Task<SendResult> SendToAgentAsync(int userId, int agentId, string payloadJson, Guid session, string? traceparent,
        string? idempotencyKey, CancellationToken cancellationToken) =>
        // Not canceled with the caller: it may share its statement and commit with other sends.
        QuotaChecks.SendAsync(() => SendToAgentOnceAsync(userId, agentId, payloadJson, session, traceparent, idempotencyKey));

    private async Task<SendResult> SendToAgentOnceAsync(int userId, int agentId, string payloadJson, Guid session, string? traceparent,
        string? idempotencyKey)
    {
        var send = new OwnerSend(userId, agentId, session, payloadJson, traceparent, idempotencyKey);
        var result = await ownerSends.RunAsync(send);
        if (result is { Owned: true, HasAddress: false })
        {
            // A row from before agents had addresses, not yet given one by a worker: its address is derived from its id.
            result = await ownerSends.RunAsync(send with { FallbackAddress = addressing.AddressFor(agentId) });
        }

        if (!result.Owned)
        {
            return SendResult.NoSuchAgent;
        }

        quotas.CheckQueue(result.QueueFull);
        if (result.Stored)
        {
            return new SendResult(SendOutcome.Sent, result.Message, Delivery.Local);
        }

        if (result.Message is { } first)
        {
            return first.AgentId != agentId || first.Direction != MessageDirection.Inbound
                ? new SendResult(SendOutcome.KeyReused)
                : new SendResult(SendOutcome.Sent, first, Delivery.Local, Repeat: true);
        }

        throw quotas.DayUsedUp(result.Turn);
    }

    /// <summary>
    /// A message from the caller's agent to <paramref name="target"/> (a normalised address), routed by
    /// <see cref="MessageTable.RouteAsync"/>: the inbox of the agent hosted here under it, whoever owns that
    /// one, or an outbound row that waits for remote delivery; refused (nothing stored) when no endpoint
    /// source could reach it. <paramref name="waitForReply"/> marks an outbound row for a sync POST whose
    /// answer becomes its reply.
    /// </summary>
    public Task<SendResult> SendFromAgentAsync(int userId, int agentId, string target, string payloadJson, Guid session,
        string? traceparent, string? idempotencyKey, bool waitForReply, CancellationToken cancellationToken) =>
        QuotaChecks.SendAsync(() => SendFromAgentOnceAsync(userId, agentId, target, payloadJson, session, traceparent, idempotencyKey,
            waitForReply, cancellationToken));

    private async Task<SendResult> SendFromAgentOnceAsync(int userId, int agentId, string target, string payloadJson, Guid session,
        string? traceparent, string? idempotencyKey, bool waitForReply, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenQueuedConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await OwnedAgentAddressAsync(connection, transaction, userId, agentId, cancellationToken) is not { } sender)
        {
            return SendResult.NoSuchAgent;
        }

        var route = await MessageTable.RouteAsync(connection, transaction, endpointMap, agentId, target, overHttp: false,
            cancellationToken);
        if (route.Unreachable)
        {
            return new SendResult(SendOutcome.Unresolvable);
        }

        // A local target's inbox fills (its other lane, and this user's share of it unless the target is theirs too); a remote
        // one's queue is this agent's outbox.
        if (route.IsLocal)
        {
            await quotas.CheckInboxForAgentOfAsync(connection, transaction, route.AgentId, userId, cancellationToken);
        }
        else
        {
            await quotas.CheckOutboxAsync(connection, transaction, route.AgentId, cancellationToken);
        }
        var send = new OutgoingSend(agentId, sender, target, session, payloadJson)
        {
            Traceparent = traceparent,
            IdempotencyKey = idempotencyKey,
            WaitForReply = waitForReply,
        };
        var (message, repeat) = await Outgoing.StoreAsync(connection, transaction, send, route, cancellationToken,
            await quotas.CountMessageAsync(connection, transaction, userId, cancellationToken));
        var delivery = message.Direction == MessageDirection.Inbound ? Delivery.Local : Delivery.Remote;
        if (repeat)
        {
            await transaction.RollbackAsync(cancellationToken);
            return message.Target != target
                ? new SendResult(SendOutcome.KeyReused)
                : new SendResult(SendOutcome.Sent, message, delivery, Repeat: true);
        }

        await transaction.CommitAsync(cancellationToken);
        wakeups.Queued(message);
        wakeups.LogWritten(agentId);
        return new SendResult(SendOutcome.Sent, message, delivery);
    }

    /// <summary>
    /// The key a door that clients retry sends under: the client's own when it gave one, else the call's derived key
    /// (<see cref="RetryKeys"/>): on a retry the newest its earlier attempts stored, so the send finds their message.
    /// </summary>
    public async Task<string> IdempotencyKeyAsync(int userId, string? clientKey, RetriedCall call, CancellationToken cancellationToken)
    {
        if (clientKey is not null)
        {
            return clientKey;
        }

        if (call.Attempt == 0)
        {
            return call.NewKey();
        }

        await using var connection = await dataSource.OpenQueuedConnectionAsync(cancellationToken);
        return await MessageTable.NewestRetryKeyAsync(connection, Senders.User(userId), call, cancellationToken) ?? call.NewKey();
    }

    /// <summary>One message of an agent (whose ownership the caller has checked).</summary>
    public async Task<MessageRow?> FindAsync(int agentId, Guid messageId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenQueuedConnectionAsync(cancellationToken);
        return await MessageTable.GetAsync(connection, null, agentId, messageId, direction: null, cancellationToken);
    }

    public async Task<IReadOnlyList<MessageRow>> ListAsync(MessageQuery query, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenQueuedConnectionAsync(cancellationToken);
        return await MessageTable.ListAsync(connection, query, cancellationToken);
    }

    /// <summary>See <see cref="MessageTable.DeleteAsync"/>.</summary>
    public async Task<bool> DeleteAsync(int agentId, Guid messageId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await MessageTable.DeleteAsync(connection, agentId, messageId, cancellationToken);
    }

    /// <summary>Deletes every message of an agent in <paramref name="status"/> (both directions); how many went.</summary>
    public async Task<int> PurgeAsync(int agentId, string status, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await MessageTable.PurgeAsync(connection, agentId, status, cancellationToken);
    }

    // FOR KEY SHARE: the agent cannot be deleted between this check and the insert that references it; its address.
    private async Task<string?> OwnedAgentAddressAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int userId,
        int agentId, CancellationToken cancellationToken)
    {
        var agent = await connection.QueryPreparedSingleOrDefaultAsync<AgentAddressRow>(
            "SELECT id, address FROM agents WHERE id = @agentId AND user_id = @userId FOR KEY SHARE",
            new { agentId, userId }, transaction, cancellationToken);
        return agent is null ? null : agent.Address ?? addressing.AddressFor(agent.Id);
    }

    private sealed class AgentAddressRow
    {
        public int Id { get; init; }
        public string? Address { get; init; }
    }
}
