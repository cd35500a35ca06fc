namespace AgentCloud.AgentWorker.Messaging;

/// <param name="Name">What a <see cref="ClaimLoop{T}"/> claims, for its log lines.</param>
/// <param name="MaxInFlight">How many claimed items may be in hand at once in all, counting those that hold no slot
/// (<see cref="ClaimLoop{T}.HoldsSlot"/>): those mostly wait on the network, so many can be in flight.</param>
public sealed record ClaimLoopSettings(string Name, int MaxConcurrency, int BatchSize, TimeSpan PollInterval, TimeSpan ShutdownGrace,
    TimeSpan ReconnectBaseDelay, TimeSpan ReconnectMaxDelay, int? MaxInFlight = null);

/// <summary>
/// The worker's one claim loop, run by the inbox and the outbox with their own claim and handle functions:
/// claim as many items as slots are free and start each; a finished one frees its slot and wakes the loop.
/// An item that spends its time awaiting I/O (a model run) gives its slot back at once and holds only a place
/// among <see cref="ClaimLoopSettings.MaxInFlight"/>: slots bound CPU work, not waiting.
/// Idle, it waits for a wake-up or the poll interval; a failed claim backs off (leases cover what was lost).
/// At shutdown it claims nothing more and gives in-flight items a bounded grace.
/// </summary>
public abstract class ClaimLoop<T>(WakeSignal signal, WorkerIdentity worker, ILogger logger) : BackgroundService
{
    protected abstract ClaimLoopSettings Settings { get; }

    /// <summary>This process's name on the leases it takes.</summary>
    protected string LeaseOwner => worker.LeaseOwner;

    protected abstract Task<IReadOnlyList<T>> ClaimAsync(int count, CancellationToken cancellationToken);

    /// <summary>Must not throw: whatever goes wrong ends as a failed attempt, or as a lease left to expire.</summary>
    protected abstract Task HandleAsync(T item, CancellationToken cancellationToken);

    /// <summary>Whether the item holds a handling slot while it is handled (false: it mostly awaits I/O).</summary>
    protected virtual bool HoldsSlot(T item) => true;

    /// <summary>Runs before each claim (a gauge refresh, say); a failure counts as a failed claim.</summary>
    protected virtual Task BeforeClaimAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = Settings;
        using var handling = new CancellationTokenSource();
        await using var graceOnStop = stoppingToken.Register(() => handling.CancelAfter(settings.ShutdownGrace));
        using var slots = new SemaphoreSlim(settings.MaxConcurrency, settings.MaxConcurrency);
        // Every item in hand holds a place here; one that holds no slot holds only this. The slots are added so that
        // items that hold a slot always find a place beside a full house of the others.
        var places = Math.Max(settings.MaxInFlight ?? settings.MaxConcurrency, settings.MaxConcurrency) + settings.MaxConcurrency;
        using var inHand = new SemaphoreSlim(places, places);
        var inFlight = new HashSet<Task>();

        logger.LogInformation("Claiming {Name} as {LeaseOwner}: up to {MaxConcurrency} at a time, claims of at most {BatchSize}",
            settings.Name, worker.LeaseOwner, settings.MaxConcurrency, settings.BatchSize);
        var errors = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var free = 0;
            try
            {
                await slots.WaitAsync(stoppingToken);
                free = 1;
                if (!inHand.Wait(0))
                {
                    slots.Release();
                    free = 0;
                    await inHand.WaitAsync(stoppingToken);
                    inHand.Release();
                    continue;
                }

                while (free < settings.BatchSize && slots.Wait(0))
                {
                    if (!inHand.Wait(0))
                    {
                        slots.Release();
                        break;
                    }

                    free++;
                }

                await BeforeClaimAsync(stoppingToken);
                var claimed = await ClaimAsync(free, handling.Token);
                errors = 0;
                // Release(0) throws, and the claimed items would then sit unstarted until their leases
                // expire, each such claim costing them an attempt: hand back only the slots left unfilled.
                if (claimed.Count < free)
                {
                    slots.Release(free - claimed.Count);
                    inHand.Release(free - claimed.Count);
                }

                free = 0;
                if (claimed.Count == 0)
                {
                    await signal.WaitAsync(settings.PollInterval, stoppingToken);
                    continue;
                }

                foreach (var item in claimed)
                {
                    Start(item);
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
                    inHand.Release(free);
                }

                var delay = Shared.Messaging.RetryBackoff.Delay(++errors, settings.ReconnectBaseDelay, settings.ReconnectMaxDelay);
                logger.LogWarning(exception, "Claiming {Name} failed ({Attempt} in a row); retrying in {Delay}", settings.Name, errors,
                    delay);
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

        await Task.WhenAll(remaining);
        logger.LogInformation("Stopped claiming {Name} as {LeaseOwner}", settings.Name, worker.LeaseOwner);

        void Start(T item)
        {
            var holdsSlot = HoldsSlot(item);
            if (!holdsSlot)
            {
                slots.Release();
            }

            var task = Task.Run(async () =>
            {
                try
                {
                    await HandleAsync(item, handling.Token);
                }
                finally
                {
                    if (holdsSlot)
                    {
                        slots.Release();
                    }

                    inHand.Release();
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
}
