using System.Diagnostics;
using AgentCloud.Shared.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentCloud.Shared.Messaging;

/// <summary>
/// The one wait until a message is finished: <c>?wait</c> on the API's doors and sync <c>/submit</c> in the
/// worker. It holds no database connection while it waits; it reads once after subscribing (the message may
/// have finished before) and then once per wake-up from <c>message_finished</c> or a hub reconnect.
/// </summary>
public sealed class FinishedMessages(NotificationHub hub, ILogger<FinishedMessages> logger)
{
    /// <summary>After a read that failed (no connection free, the database gone): nothing else may wake the wait.</summary>
    private static readonly TimeSpan RetryAfterFailedRead = TimeSpan.FromSeconds(1);

    /// <summary>
    /// What <paramref name="read"/> returns once <paramref name="isFinished"/>, or as last seen (<paramref name="seen"/>
    /// if no read succeeded) when <paramref name="timeout"/> runs out. The message is already stored, so a read
    /// that fails is no reason to fail the wait: it is tried again.
    /// </summary>
    /// <param name="alsoOn">Channels besides message_finished whose notifications (for this message) make it read again: run_events,
    /// for a wait that also ends when the run parks for a person (A2A's input-required).</param>
    public async Task<T> WaitAsync<T>(Guid messageId, T seen, Func<CancellationToken, Task<T>> read, Func<T, bool> isFinished,
        TimeSpan timeout, CancellationToken cancellationToken, IReadOnlyList<string>? alsoOn = null)
    {
        using var finished = hub.Subscribe([NotifyChannels.MessageFinished, .. alsoOn ?? []], messageId.ToString("D"));
        var started = Stopwatch.GetTimestamp();
        while (!isFinished(seen))
        {
            var readFailed = false;
            try
            {
                seen = await read(cancellationToken);
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested && DatabaseErrors.IsUnavailable(exception))
            {
                readFailed = true;
                logger.LogDebug("Could not read message {MessageId} while waiting for it: {Reason}", messageId, exception.Message);
            }

            var remaining = timeout - Stopwatch.GetElapsedTime(started);
            if (isFinished(seen) || remaining <= TimeSpan.Zero)
            {
                break;
            }

            var woken = await finished.WaitAsync(readFailed && remaining > RetryAfterFailedRead ? RetryAfterFailedRead : remaining,
                cancellationToken);
            if (!woken && !readFailed)
            {
                break;
            }
        }

        return seen;
    }
}
