using AgentCloud.Shared.Messaging;
using Npgsql;

namespace AgentCloud.AgentWorker.UAgents;

/// <summary>
/// One LISTEN connection on <c>message_finished</c> for every sync <c>/submit</c> waiting here. A
/// notification is only a hint: waiters poll the row as well, so a notification lost to a reconnect
/// costs a poll interval, nothing more.
/// </summary>
public sealed class FinishedMessages(string connectionString, ILogger logger)
{
    private static readonly TimeSpan PingInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly Lock gate = new();
    private readonly Dictionary<Guid, List<SemaphoreSlim>> waiters = [];

    /// <summary>Listens until <paramref name="stoppingToken"/> fires (the host stopping).</summary>
    public void Start(CancellationToken stoppingToken) => _ = Task.Run(() => ListenAsync(stoppingToken), CancellationToken.None);

    /// <summary>A signal raised when <paramref name="messageId"/> is reported finished; dispose it when done.</summary>
    public Subscription Subscribe(Guid messageId)
    {
        var signal = new SemaphoreSlim(0, 1);
        lock (gate)
        {
            if (!waiters.TryGetValue(messageId, out var list))
            {
                waiters[messageId] = list = [];
            }

            list.Add(signal);
        }

        return new Subscription(this, messageId, signal);
    }

    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.Pooling = false;
        builder.ConnectionStringBuilder.KeepAlive = 15;
        builder.ConfigureTracing(AgentCloud.Shared.Hosting.DatabaseExtensions.TraceOnlyWithinATrace);
        await using var dataSource = builder.Build();
        var backoff = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) =>
                {
                    if (Guid.TryParse(e.Payload, out var id))
                    {
                        Signal(id);
                    }
                };
                await using (var listen = new NpgsqlCommand($"LISTEN {NotifyChannels.MessageFinished}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                backoff = TimeSpan.FromSeconds(1);
                while (!stoppingToken.IsCancellationRequested)
                {
                    if (!await connection.WaitAsync(PingInterval, stoppingToken))
                    {
                        await using var ping = new NpgsqlCommand("SELECT 1", connection);
                        await ping.ExecuteScalarAsync(stoppingToken);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                logger.LogWarning("Listening on {Channel} for sync submits failed; retrying in {Backoff}: {Reason}",
                    NotifyChannels.MessageFinished, backoff, exception.Message);
                try
                {
                    await Task.Delay(backoff, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    private void Signal(Guid messageId)
    {
        SemaphoreSlim[] targets;
        lock (gate)
        {
            targets = waiters.TryGetValue(messageId, out var list) ? [.. list] : [];
        }

        foreach (var signal in targets)
        {
            try
            {
                signal.Release();
            }
            catch (Exception exception) when (exception is SemaphoreFullException or ObjectDisposedException)
            {
                // Already signalled, or the waiter just left.
            }
        }
    }

    public sealed class Subscription(FinishedMessages owner, Guid messageId, SemaphoreSlim signal) : IDisposable
    {
        /// <summary>True when a notification came (since the last wait), false when the timeout passed first.</summary>
        public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
            signal.WaitAsync(timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout, cancellationToken);

        public void Dispose()
        {
            lock (owner.gate)
            {
                if (owner.waiters.TryGetValue(messageId, out var list) && list.Remove(signal) && list.Count == 0)
                {
                    owner.waiters.Remove(messageId);
                }
            }

            signal.Dispose();
        }
    }
}
