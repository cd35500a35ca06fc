using System.Diagnostics;
using AgentCloud.Shared.Messaging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AgentCloud.AgentWorker.Messaging;

/// <summary>
/// The processing loop: claim a batch of heads of line, handle them in parallel (one per agent, so
/// order holds), repeat at once while there is work; otherwise wait for a notification or the poll
/// interval. At shutdown it claims nothing more and gives in-flight messages a bounded grace.
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
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = settings.MaxConcurrency, CancellationToken = handling.Token };

        logger.LogInformation("Handling messages as {LeaseOwner}: batches of {BatchSize}, {MaxConcurrency} at a time, leases of {Lease}",
            worker.LeaseOwner, settings.BatchSize, settings.MaxConcurrency, settings.LeaseDuration);
        var errors = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RefreshQueueDepthIfDueAsync(settings, stoppingToken);
                var claimed = await ClaimAsync(settings, handling.Token);
                errors = 0;
                if (claimed.Count == 0)
                {
                    await signal.WaitAsync(settings.PollInterval, stoppingToken);
                    continue;
                }

                await Parallel.ForEachAsync(claimed, parallel, (message, ct) => new ValueTask(handler.HandleAsync(message, ct)));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception)
            {
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

        logger.LogInformation("Stopped handling messages as {LeaseOwner}", worker.LeaseOwner);
    }

    private async Task<IReadOnlyList<MessageRow>> ClaimAsync(MessagingOptions settings, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await Inbox.ClaimAsync(connection, worker.LeaseOwner, settings.LeaseDuration, settings.BatchSize, cancellationToken);
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
