using AgentCloud.Shared.Messaging;
using Npgsql;

namespace AgentCloud.AgentWorker.Messaging;

/// <summary>
/// LISTENs on one NOTIFY channel over a connection of its own and wakes a loop on every notification.
/// When the connection breaks (the database restarts) it reconnects with backoff; the loop's polling
/// covers the gap, and a wake-up after each reconnect catches what arrived meanwhile.
/// </summary>
public abstract class ChannelListener(
    IConfiguration configuration,
    WakeSignal signal,
    string channel,
    TimeSpan reconnectBaseDelay,
    TimeSpan reconnectMaxDelay,
    ILogger logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Not the shared pool: this connection lives as long as the process, and keepalives notice a
        // silently dead one while it only waits.
        var connectionString = new NpgsqlConnectionStringBuilder(
            configuration.GetConnectionString(AgentCloud.Shared.Hosting.ConfigurationExtensions.ConnectionName))
        {
            Pooling = false,
            KeepAlive = 15,
        }.ConnectionString;
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConfigureTracing(AgentCloud.Shared.Hosting.DatabaseExtensions.TraceOnlyWithinATrace);
        await using var dataSource = builder.Build();

        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, _) => signal.Wake();
                await using (var listen = new NpgsqlCommand($"LISTEN {channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                if (failures > 0)
                {
                    logger.LogInformation("Listening on {Channel} again", channel);
                }

                failures = 0;
                signal.Wake();
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
                var delay = RetryBackoff.Delay(++failures, reconnectBaseDelay, reconnectMaxDelay);
                logger.LogWarning("Listening on {Channel} failed ({Attempt} in a row: {Reason}); reconnecting in {Delay}",
                    channel, failures, exception.Message, delay);
                try
                {
                    await Task.Delay(delay, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}

/// <summary>Wakes the inbox loop when a message arrives for any agent (<c>agent_inbox</c>).</summary>
public sealed class InboxListener(
    IConfiguration configuration, InboxSignal signal, Microsoft.Extensions.Options.IOptions<MessagingOptions> options,
    ILogger<InboxListener> logger)
    : ChannelListener(configuration, signal, NotifyChannels.Inbox, options.Value.ReconnectBaseDelay, options.Value.ReconnectMaxDelay, logger);
