using AgentCloud.Shared.Messaging;
using Npgsql;

namespace AgentCloud.Api.Infrastructure;

/// <summary>
/// One dedicated connection for the whole process that LISTENs on <c>message_finished</c> and
/// <c>agent_logs</c> and wakes the requests waiting on a (channel, payload) pair, so a thousand waits
/// or live tails cost one connection while idle. A notification is only a hint to re-read the table:
/// waiters also poll, and everybody is woken after a reconnect (notifications sent meanwhile are lost).
/// </summary>
public sealed class DatabaseNotifications(NpgsqlDataSource dataSource, ILogger<DatabaseNotifications> logger) : BackgroundService
{
    private static readonly string[] Channels = [NotifyChannels.MessageFinished, NotifyChannels.AgentLogs, RunEvents.Channel];
    private static readonly TimeSpan PingInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly Lock gate = new();
    private readonly Dictionary<(string Channel, string Payload), List<Subscription>> subscriptions = [];

    /// <summary>A signal raised by every notification of <paramref name="channel"/> carrying <paramref name="payload"/>; dispose it when done.</summary>
    public Subscription Subscribe(string channel, string payload) => Subscribe(payload, [channel]);

    /// <summary>One signal raised by a notification of any of <paramref name="channels"/> carrying <paramref name="payload"/>.</summary>
    public Subscription Subscribe(string payload, string[] channels)
    {
        var subscription = new Subscription(this, [.. channels.Select(channel => (channel, Normalize(payload)))]);
        lock (gate)
        {
            foreach (var key in subscription.Keys)
            {
                if (!subscriptions.TryGetValue(key, out var list))
                {
                    subscriptions[key] = list = [];
                }

                list.Add(subscription);
            }
        }

        return subscription;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) => Dispatch(e.Channel, e.Payload);
                await using (var listen = new NpgsqlCommand(string.Concat(Channels.Select(c => $"LISTEN {c};")), connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                backoff = TimeSpan.FromSeconds(1);
                WakeEveryone();
                while (!stoppingToken.IsCancellationRequested)
                {
                    if (!await connection.WaitAsync(PingInterval, stoppingToken))
                    {
                        // A silently dropped connection only shows when something is sent on it.
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
                logger.LogWarning("Listening for database notifications failed; retrying in {Backoff}: {Reason}", backoff, exception.Message);
                WakeEveryone();
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

    private void Dispatch(string channel, string payload)
    {
        Subscription[] targets;
        lock (gate)
        {
            targets = subscriptions.TryGetValue((channel, Normalize(payload)), out var list) ? [.. list] : [];
        }

        foreach (var subscription in targets)
        {
            subscription.Signal();
        }
    }

    private void WakeEveryone()
    {
        Subscription[] targets;
        lock (gate)
        {
            targets = [.. subscriptions.Values.SelectMany(list => list).Distinct()];
        }

        foreach (var subscription in targets)
        {
            subscription.Signal();
        }
    }

    private void Remove(Subscription subscription)
    {
        lock (gate)
        {
            foreach (var key in subscription.Keys)
            {
                if (subscriptions.TryGetValue(key, out var list) && list.Remove(subscription) && list.Count == 0)
                {
                    subscriptions.Remove(key);
                }
            }
        }
    }

    // Ids arrive as PostgreSQL prints them (uuid::text is lower case) or as .NET does; match either.
    private static string Normalize(string payload) => payload.Trim().ToLowerInvariant();

    /// <summary>An auto-reset signal: notifications that arrive between two waits are not lost, only merged.</summary>
    public sealed class Subscription : IDisposable
    {
        private readonly DatabaseNotifications owner;
        private readonly SemaphoreSlim signal = new(0, 1);

        internal Subscription(DatabaseNotifications owner, (string Channel, string Payload)[] keys)
        {
            this.owner = owner;
            Keys = keys;
        }

        internal (string Channel, string Payload)[] Keys { get; }

        /// <summary>True when a notification came (since the last wait), false when <paramref name="timeout"/> passed first.</summary>
        public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
            signal.WaitAsync(timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout, cancellationToken);

        internal void Signal()
        {
            try
            {
                signal.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already signalled and not yet consumed: one wake-up covers both.
            }
            catch (ObjectDisposedException)
            {
            }
        }

        public void Dispose()
        {
            owner.Remove(this);
            signal.Dispose();
        }
    }
}
