using AgentCloud.Shared.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Polly;
using Polly.Retry;

namespace AgentCloud.Shared.Messaging;

/// <summary>
/// The process's one LISTEN connection: it LISTENs on the channels the process needs and wakes the
/// subscribers of a (channel, payload) pair, or of a whole channel. A notification is only a hint to
/// re-read a table, and notifications sent while the connection is down are lost, so after every
/// (re)connect every subscriber is woken to re-check. Subscribe first, then read: nothing is missed.
/// </summary>
/// <remarks>
/// Outside the pool (a connection held for the life of the process) with keepalives, which notice a
/// silently dead connection while it waits and leave it showing its <c>LISTEN</c> in pg_stat_activity.
/// Its application name says which process it belongs to.
/// </remarks>
public sealed class NotificationHub : BackgroundService
{
    private readonly NpgsqlDataSource dataSource;
    private readonly HashSet<string> channels;
    private readonly ResiliencePipeline reconnect;
    private readonly ILogger<NotificationHub> logger;
    private readonly Lock gate = new();
    private readonly Dictionary<(string Channel, string? Payload), List<Subscription>> subscriptions = [];

    public NotificationHub(string connectionString, string applicationName, IEnumerable<string> channels, ILogger<NotificationHub> logger)
    {
        this.channels = [.. channels];
        this.logger = logger;
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.Pooling = false;
        builder.ConnectionStringBuilder.KeepAlive = 15;
        builder.ConnectionStringBuilder.ApplicationName = applicationName;
        builder.ConfigureTracing(DatabaseExtensions.TraceOnlyWithinATrace);
        dataSource = builder.Build();
        reconnect = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(exception => exception is not OperationCanceledException),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromSeconds(1),
            MaxDelay = TimeSpan.FromSeconds(30),
            OnRetry = retry =>
            {
                logger.LogWarning("Listening for database notifications failed ({Attempt} in a row: {Reason}); retrying in {Delay}",
                    retry.AttemptNumber + 1, retry.Outcome.Exception?.Message, retry.RetryDelay);
                return default;
            },
        }).Build();
    }

    /// <summary>Raised by every notification on <paramref name="channel"/> carrying <paramref name="payload"/> (an id), and after every
    /// reconnect.</summary>
    public Subscription Subscribe(string channel, string payload) => Add(new Subscription(this, [(channel, Normalize(payload))], null));

    /// <summary>One subscription raised by a notification on any of <paramref name="channels"/> carrying
    /// <paramref name="payload"/>.</summary>
    public Subscription Subscribe(IEnumerable<string> channels, string payload) =>
        Add(new Subscription(this, [.. channels.Select(channel => (channel, (string?)Normalize(payload)))], null));

    /// <summary>Calls <paramref name="wake"/> (on the listening loop: keep it short) on every notification on <paramref name="channel"/>
    /// and after every reconnect.</summary>
    public Subscription Subscribe(string channel, Action wake) => Add(new Subscription(this, [(channel, null)], wake));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // A fresh pipeline run per connection: the backoff starts again from its base after each loss.
                await using var connection = await reconnect.ExecuteAsync(ListenAsync, stoppingToken);
                logger.LogDebug("Listening on {Channels}", string.Join(", ", channels));
                WakeEveryone();
                while (true)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                logger.LogWarning("Lost the connection listening for database notifications ({Reason}); reconnecting", exception.Message);
            }
        }
    }

    public override void Dispose()
    {
        base.Dispose();
        dataSource.Dispose();
    }

    private async ValueTask<NpgsqlConnection> ListenAsync(CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            connection.Notification += (_, e) => Dispatch(e.Channel, e.Payload);
            await using var listen = new NpgsqlCommand(string.Concat(channels.Select(c => $"LISTEN {c};")), connection);
            await listen.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private Subscription Add(Subscription subscription)
    {
        lock (gate)
        {
            foreach (var key in subscription.Keys)
            {
                if (!channels.Contains(key.Channel))
                {
                    throw new InvalidOperationException(
                        $"This process does not listen on {key.Channel}: add it where the hub is registered.");
                }

                if (!subscriptions.TryGetValue(key, out var list))
                {
                    subscriptions[key] = list = [];
                }

                list.Add(subscription);
            }
        }

        return subscription;
    }

    private void Dispatch(string channel, string payload)
    {
        Subscription[] targets;
        lock (gate)
        {
            targets = [
                .. subscriptions.GetValueOrDefault((channel, Normalize(payload))) ?? [],
                .. subscriptions.GetValueOrDefault((channel, null)) ?? [],
            ];
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

    /// <summary>An auto-reset signal: notifications between two waits are not lost, only merged into one wake-up.</summary>
    public sealed class Subscription : IDisposable
    {
        private readonly NotificationHub hub;
        private readonly Action? wake;
        private readonly SemaphoreSlim signal = new(0, 1);

        internal Subscription(NotificationHub hub, (string Channel, string? Payload)[] keys, Action? wake)
        {
            this.hub = hub;
            this.wake = wake;
            Keys = keys;
        }

        internal (string Channel, string? Payload)[] Keys { get; }

        /// <summary>True when woken (since the last wait), false when <paramref name="timeout"/> passed first.</summary>
        public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
            signal.WaitAsync(timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout, cancellationToken);

        internal void Signal()
        {
            if (wake is not null)
            {
                wake();
                return;
            }

            try
            {
                signal.Release();
            }
            catch (Exception exception) when (exception is SemaphoreFullException or ObjectDisposedException)
            {
                // Already signalled and not yet consumed (one wake-up covers both), or just disposed.
            }
        }

        public void Dispose()
        {
            hub.Remove(this);
            signal.Dispose();
        }
    }
}

public static class NotificationHubExtensions
{
    /// <summary>
    /// The process's <see cref="NotificationHub"/>, listening on <paramref name="channels"/>, <see cref="FinishedMessages"/> on top
    /// of it, and the <see cref="Wakeups"/> it sends.
    /// </summary>
    public static TBuilder AddNotificationHub<TBuilder>(this TBuilder builder, params string[] channels) where TBuilder
        : IHostApplicationBuilder
    {
        builder.Services.AddSingleton(services => new NotificationHub(
            builder.Configuration.GetConnectionString(Hosting.ConfigurationExtensions.ConnectionName) ?? "",
            $"{builder.Environment.ApplicationName} {Environment.ProcessId}",
            [NotifyChannels.MessageFinished, .. channels],
            services.GetRequiredService<ILogger<NotificationHub>>()));
        builder.Services.AddHostedService(services => services.GetRequiredService<NotificationHub>());
        builder.Services.AddSingleton<FinishedMessages>();
        builder.Services.AddSingleton<Wakeups>();
        builder.Services.AddHostedService(services => services.GetRequiredService<Wakeups>());
        return builder;
    }
}
