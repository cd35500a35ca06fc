using AgentCloud.AgentWorker.Messaging;
using AgentCloud.Shared.Messaging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AgentCloud.AgentWorker.Outbox;

/// <summary>
/// The outbox loop: claims due outbound messages as delivery slots free up and delivers each on its own
/// (its own timeout), so a slow or dead peer holds one slot and never the loop or the other peers.
/// </summary>
public sealed class OutboxProcessor(
    NpgsqlDataSource dataSource,
    OutboxDelivery delivery,
    OutboxSignal signal,
    WorkerIdentity worker,
    IOptions<OutboxOptions> options,
    ILogger<OutboxProcessor> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        using var delivering = new CancellationTokenSource();
        await using var graceOnStop = stoppingToken.Register(() => delivering.CancelAfter(settings.ShutdownGrace));
        using var slots = new SemaphoreSlim(settings.MaxConcurrency, settings.MaxConcurrency);
        var inFlight = new HashSet<Task>();

        logger.LogInformation("Delivering outbound messages as {LeaseOwner}: {MaxConcurrency} at a time, {MaxAttempts} attempts within {Window}",
            worker.LeaseOwner, settings.MaxConcurrency, settings.MaxAttempts, settings.DeliveryWindow);
        var errors = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (slots.CurrentCount == 0)
                {
                    await slots.WaitAsync(stoppingToken);
                    slots.Release();
                    continue;
                }

                var free = slots.CurrentCount;
                IReadOnlyList<OutboundMessage> claimed;
                await using (var connection = await dataSource.OpenConnectionAsync(stoppingToken))
                {
                    claimed = await OutboxStore.ClaimAsync(connection, worker.LeaseOwner, settings.LeaseDuration,
                        settings.DeliveryWindow, free, stoppingToken);
                }

                errors = 0;
                foreach (var message in claimed)
                {
                    await slots.WaitAsync(stoppingToken);
                    var task = Task.Run(async () =>
                    {
                        try
                        {
                            await delivery.DeliverAsync(message, delivering.Token);
                        }
                        finally
                        {
                            slots.Release();
                        }
                    }, CancellationToken.None);
                    lock (inFlight)
                    {
                        inFlight.Add(task);
                    }

                    _ = task.ContinueWith(done =>
                    {
                        lock (inFlight)
                        {
                            inFlight.Remove(done);
                        }
                    }, TaskScheduler.Default);
                }

                if (claimed.Count < free)
                {
                    await signal.WaitAsync(settings.PollInterval, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception)
            {
                var delay = RetryBackoff.Delay(++errors, settings.ReconnectBaseDelay, settings.ReconnectMaxDelay);
                logger.LogWarning(exception, "Claiming outbound messages failed ({Attempt} in a row); retrying in {Delay}", errors, delay);
                try
                {
                    await Task.Delay(delay, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        Task[] remaining;
        lock (inFlight)
        {
            remaining = [.. inFlight];
        }

        // DeliverAsync never throws; deliveries cut off by the grace leave their leases to expire.
        await Task.WhenAll(remaining);
        logger.LogInformation("Stopped delivering outbound messages as {LeaseOwner}", worker.LeaseOwner);
    }
}
