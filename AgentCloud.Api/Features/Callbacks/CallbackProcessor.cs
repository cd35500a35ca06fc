using AgentCloud.Shared.Hosting;
using AgentCloud.Shared.Messaging;
using Microsoft.Extensions.Options;

namespace AgentCloud.Api.Features.Callbacks;

/// <summary>
/// The callback outbox's loop, in every API replica (claims are leased and skip each other's rows): claims due deliveries and
/// sends them, up to <see cref="CallbackOptions.MaxConcurrency"/> at once. A finished message (<c>message_finished</c>, which
/// every completion already NOTIFYs) wakes it; the poll covers retries, expired leases and events that wake nobody.
/// </summary>
public sealed class CallbackProcessor(CallbackStore store, CallbackSender sender, NotificationHub hub, IOptions<CallbackOptions> options,
    ILogger<CallbackProcessor> logger) : BackgroundService
{
    /// <summary>However often messages finish, the loop claims at most this often while it finds nothing to do.</summary>
    private static readonly TimeSpan MinClaimInterval = TimeSpan.FromMilliseconds(50);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        using var wake = new SemaphoreSlim(0, 1);
        using var finished = hub.Subscribe(NotifyChannels.MessageFinished, () =>
        {
            if (wake.CurrentCount == 0)
            {
                try
                {
                    wake.Release();
                }
                catch (SemaphoreFullException)
                {
                    // Already woken.
                }
            }
        });
        var inFlight = new List<Task>();
        while (!stoppingToken.IsCancellationRequested)
        {
            inFlight.RemoveAll(task => task.IsCompleted);
            var room = settings.MaxConcurrency - inFlight.Count;
            IReadOnlyList<ClaimedDelivery> claimed = [];
            if (room > 0)
            {
                try
                {
                    claimed = await store.ClaimAsync(CallbackSender.LeaseOwner, room, settings.LeaseDuration, stoppingToken);
                }
                catch (Exception exception) when (!stoppingToken.IsCancellationRequested && DatabaseErrors.IsUnavailable(exception))
                {
                    logger.LogDebug("Could not claim callback deliveries: {Reason}", exception.Message);
                }
            }

            inFlight.AddRange(claimed.Select(delivery => sender.DeliverAsync(delivery, stoppingToken)));
            try
            {
                if (claimed.Count == room && room > 0)
                {
                    continue;
                }

                // Wait for a wake-up, the poll, or a slot: whichever comes first.
                var waits = new List<Task> { wake.WaitAsync(settings.PollInterval, stoppingToken) };
                if (inFlight.Count >= settings.MaxConcurrency)
                {
                    waits.Add(Task.WhenAny(inFlight));
                }

                await Task.WhenAny(waits);
                await Task.Delay(MinClaimInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
        }

        await Task.WhenAll(inFlight);
    }
}
