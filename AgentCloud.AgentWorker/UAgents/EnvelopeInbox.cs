using AgentCloud.Shared.Data;
using AgentCloud.Shared.Hosting;
using AgentCloud.Shared.Messaging;
using Npgsql;

namespace AgentCloud.AgentWorker.UAgents;

/// <summary>
/// Stores the envelopes <c>/submit</c> accepts. Concurrent ones share a statement and a commit (see <see cref="Batcher{TItem,TResult}"/>,
/// as the API's owners' sends do): an envelope answered 200 was committed in its batch. Its handler is woken after the commit.
/// </summary>
public sealed class EnvelopeInbox(NpgsqlDataSource dataSource, Wakeups wakeups) : IAsyncDisposable
{
    private readonly Batcher<NewMessage, (MessageRow Message, bool Duplicate)> envelopes = new("store envelopes",
        Messages.MaxEnvelopesPerStatement, loops: 4,
        async messages =>
        {
            await using var connection = await dataSource.OpenQueuedConnectionAsync(CancellationToken.None);
            var stored = await Messages.EnqueueEnvelopesAsync(connection, messages, CancellationToken.None);
            foreach (var (message, _) in stored.Where(result => !result.Duplicate))
            {
                wakeups.Queued(message);
            }

            return stored;
        });

    /// <summary>The stored message, or the first copy of the same envelope (<c>Duplicate</c>). Not canceled with the caller: it may share its commit.</summary>
    public Task<(MessageRow Message, bool Duplicate)> StoreAsync(NewMessage message) => envelopes.RunAsync(message);

    public ValueTask DisposeAsync() => envelopes.DisposeAsync();
}
