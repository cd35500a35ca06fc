using AgentCloud.Shared.Messaging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AgentCloud.AgentWorker.Outbox;

/// <summary>
/// LISTENs on <c>agent_outbox</c> over a connection of its own and wakes the outbox loop; reconnects with
/// backoff when the connection breaks (the loop's polling covers the gap).
/// </summary>
public sealed class OutboxListener(
    IConfiguration configuration,
    OutboxSignal signal,
    IOptions<OutboxOptions> options,
    ILogger<OutboxListener> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var connectionString = new NpgsqlConnectionStringBuilder(configuration.GetConnectionString(AgentCloud.Shared.Hosting.ConfigurationExtensions.ConnectionName))
        {
            Pooling = false,
            KeepAlive = 15,
        }.ConnectionString;
        await using var dataSource = NpgsqlDataSource.Create(connectionString);

        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, _) => signal.Wake();
                await using (var listen = new NpgsqlCommand($"LISTEN {NotifyChannels.Outbox}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
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
                var delay = RetryBackoff.Delay(++failures, settings.ReconnectBaseDelay, settings.ReconnectMaxDelay);
                logger.LogWarning("Listening on {Channel} failed ({Attempt} in a row: {Reason}); reconnecting in {Delay}",
                    NotifyChannels.Outbox, failures, exception.Message, delay);
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
