using System.Diagnostics;
using AgentCloud.Shared.Messaging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AgentCloud.AgentWorker.Messaging;

/// <summary>
/// The processing loop: whenever a handling slot is free, claim that many heads of line (one per
/// agent, so order holds) and start them; a finished message frees its slot and wakes the loop at once,
/// since its agent's next message is now claimable. With nothing to claim it waits for a notification,
/// a finished message or the poll interval. At shutdown it claims nothing more and gives in-flight
/// messages a bounded grace.
/// </summary>
public sealed class MessageProcessor(
    NpgsqlDataSource dataSource,
    MessageHandler handler,
    InboxSignal signal,
    WorkerIdentity worker,
    MessagingMetrics metrics,
    IOptions<MessagingOptions> options,
    ILogger<MessageProcessor> logger) : BackgroundService
{
    private long _nextQueueDepthRefresh;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        // In-flight work outlives the stop request by at most the grace; then it is cancelled and its leases expire.
        using var handling = new CancellationTokenSource();
        await using var graceOnStop = stoppingToken.Register(() => handling.CancelAfter(settings.ShutdownGrace));
        using var slots = new SemaphoreSlim(settings.MaxConcurrency, settings.MaxConcurrency);
        var inFlight = new HashSet<Task>();

        logger.LogInformation("Handling messages as {LeaseOwner}: up to {MaxConcurrency} at a time, claims of at most {BatchSize}, leases of {Lease}",
            worker.LeaseOwner, settings.MaxConcurrency, settings.BatchSize, settings.LeaseDuration);
        var errors = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var free = 0;
            try
            {
                await slots.WaitAsync(stoppingToken);
                free = 1;
                while (free < settings.BatchSize && slots.Wait(0))
                {
                    free++;
                }

                await RefreshQueueDepthIfDueAsync(settings, stoppingToken);
                var claimed = await ClaimAsync(settings, free, handling.Token);
                errors = 0;
                // Release(0) throws, and the claimed messages would then sit unstarted until their leases
                // expire, each such claim costing them an attempt: hand back only the slots left unfilled.
                if (claimed.Count < free)
                {
                    slots.Release(free - claimed.Count);
                }

                free = 0;
                if (claimed.Count == 0)
                {
                    await signal.WaitAsync(settings.PollInterval, stoppingToken);
                    continue;
                }

                foreach (var message in claimed)
                {
                    Start(message);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception)
            {
                if (free > 0)
                {
                    slots.Release(free);
                }

                // The database went away (restart, failover): back off and try again; leases cover the rest.
                var delay = RetryBackoff.Delay(++errors, settings.ReconnectBaseDelay, settings.ReconnectMaxDelay);
                logger.LogWarning(exception, "Claiming messages failed ({Attempt} in a row); retrying in {Delay}", errors, delay);
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

        // The handler never throws; cancellation after the grace ends whatever is left.
        await Task.WhenAll(remaining);
        logger.LogInformation("Stopped handling messages as {LeaseOwner}", worker.LeaseOwner);

        void Start(MessageRow message)
        {
            var task = Task.Run(async () =>
            {
                try
                {
                    await handler.HandleAsync(message, handling.Token);
                }
                finally
                {
                    slots.Release();
                    signal.Wake();
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
    }

    private async Task<IReadOnlyList<MessageRow>> ClaimAsync(MessagingOptions settings, int count, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await Inbox.ClaimAsync(connection, worker.LeaseOwner, settings.LeaseDuration, count, cancellationToken);
    }

    // The gauge reads a number the loop keeps fresh, so scrapes never reach the database.
    private async Task RefreshQueueDepthIfDueAsync(MessagingOptions settings, CancellationToken cancellationToken)
    {
        var now = Stopwatch.GetTimestamp();
        if (now < _nextQueueDepthRefresh)
        {
            return;
        }

        _nextQueueDepthRefresh = now + (long)(settings.QueueDepthRefreshInterval.TotalSeconds * Stopwatch.Frequency);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        metrics.SetQueueDepth(await Inbox.CountPendingAsync(connection, cancellationToken));
    }
}
