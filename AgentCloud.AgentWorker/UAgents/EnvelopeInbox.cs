using AgentCloud.Shared.Data;
using AgentCloud.Shared.Hosting;
using AgentCloud.Shared.Messaging;
using Npgsql;

namespace AgentCloud.AgentWorker.UAgents;

/// <summary>
/// The database's part of <c>/submit</c>: the agent an envelope is for, then its store. Envelopes that arrive together share
/// a round trip for each (see <see cref="Batcher{TItem,TResult}"/>, as the API's owners' sends do): an envelope answered 200
/// was committed in its batch. Its handler is woken after the commit.
/// </summary>
public sealed class EnvelopeInbox(NpgsqlDataSource dataSource, SubmitLimits limits, Wakeups wakeups) : IAsyncDisposable
{
    private const int MaxAgentsPerStatement = 64;

    private readonly Batcher<string, (HostedAgent Agent, bool QueueFull)?> agents = new("find agents", MaxAgentsPerStatement, loops: 2,
        async addresses =>
        {
            await using var connection = await dataSource.OpenQueuedConnectionAsync(CancellationToken.None);
            var found = (await connection.QueryPreparedAsync<HostedAgentRow>(
                    $$"""
                    SELECT a.id, a.user_id, a.address, COALESCE(a.config, '{}'::jsonb)::text AS config,
                           ({{MessageTable.InboxOtherLaneIsFull("a.id")}}) AS queue_full
                    FROM agents a WHERE a.address = ANY(@addresses)
                    """,
                    new { addresses = addresses.Distinct().ToArray(), cap = limits.Settings.MaxQueuedPerAgent }, null,
                    CancellationToken.None))
                .ToDictionary(row => row.Address, StringComparer.Ordinal);
            return [.. addresses.Select(address => found.TryGetValue(address, out var row)
                ? (new HostedAgent(row.Id, row.UserId, row.Address, row.Config), row.QueueFull)
                : ((HostedAgent, bool)?)null)];
        });

    private readonly Batcher<NewMessage, (MessageRow Message, bool Duplicate)> envelopes = new("store envelopes",
        MessageTable.MaxEnvelopesPerStatement, loops: 4,
        async messages =>
        {
            await using var connection = await dataSource.OpenQueuedConnectionAsync(CancellationToken.None);
            var stored = await MessageTable.EnqueueEnvelopesAsync(connection, messages, CancellationToken.None);
            foreach (var (message, _) in stored.Where(result => !result.Duplicate))
            {
                wakeups.Queued(message);
            }

            return stored;
        });

    /// <summary>The agent hosted here under <paramref name="address"/>, and whether its inbox is full for others than its owner.</summary>
    public Task<(HostedAgent Agent, bool QueueFull)?> FindAgentAsync(string address) => agents.RunAsync(address);

    /// <summary>
    /// The stored message, or the first copy of the same envelope (<c>Duplicate</c>). Not canceled with the caller: it may share
    /// its commit.
    /// </summary>
    public Task<(MessageRow Message, bool Duplicate)> StoreAsync(NewMessage message) => envelopes.RunAsync(message);

    public async ValueTask DisposeAsync()
    {
        await agents.DisposeAsync();
        await envelopes.DisposeAsync();
    }

    private sealed record HostedAgentRow(int Id, int? UserId, string Address, string Config, bool QueueFull);
}
