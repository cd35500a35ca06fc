using AgentCloud.AgentWorker.Messaging;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Scheduling;
using Microsoft.Extensions.Options;

namespace AgentCloud.AgentWorker.Scheduling;

/// <summary>Wakes the schedule loop: a schedule was written (<see cref="ScheduleChannel.Name"/>).</summary>
public sealed class ScheduleSignal(NotificationHub hub) : WakeSignal(hub, ScheduleChannel.Name);

/// <summary>
/// Fires due schedules: claims and fires them a batch at a time (<see cref="ScheduleFirer"/>) while any are due, then sleeps until
/// the next due time (at most <see cref="ScheduleOptions.MaxSleep"/>) or until a written schedule wakes it. Every worker runs one;
/// the claim's row locks make each due time fire on one of them, once.
/// </summary>
public sealed class ScheduleLoop(ScheduleFirer firer, ScheduleSignal signal, IOptions<ScheduleOptions> options,
    IOptions<MessagingOptions> messaging, ILogger<ScheduleLoop> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var errors = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var (fired, untilNext) = await firer.FireDueAsync(settings.BatchSize, stoppingToken);
                errors = 0;
                if (fired == settings.BatchSize)
                {
                    continue;
                }

                var sleep = untilNext is { } until && until < settings.MaxSleep ? until : settings.MaxSleep;
                if (sleep > TimeSpan.Zero)
                {
                    await signal.WaitAsync(sleep, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception)
            {
                var delay = RetryBackoff.Delay(++errors, messaging.Value.ReconnectBaseDelay, messaging.Value.ReconnectMaxDelay);
                logger.LogWarning(exception, "Firing schedules failed ({Attempt} in a row); retrying in {Delay}", errors, delay);
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
    }
}
