using System.Diagnostics;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Messaging;

namespace AgentCloud.Api.Features.Messages;

/// <summary>
/// Waits for a message to finish (done or dead) holding no database connection: woken by
/// <c>message_finished</c> through the process's one LISTEN connection, it only borrows a connection for
/// the short read after each wake-up (and every <see cref="PollInterval"/>, so a notification lost to a
/// reconnect never makes a wait miss it; reconnects also wake every waiter).
/// </summary>
public sealed class MessageWaiter(MessageStore messages, DatabaseNotifications notifications, ILogger<MessageWaiter> logger)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The message once finished, or as last seen when <paramref name="timeout"/> runs out. The message is
    /// already committed, so a read that fails (no connection free, the database gone) is no reason to
    /// answer with an error: it is tried again at the next wake-up, and the answer is the message as last seen.
    /// </summary>
    public async Task<MessageRow> WaitUntilFinishedAsync(MessageRow message, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // Subscribed right after the commit; a notification sent before that is caught by the next poll.
        using var finished = notifications.Subscribe(NotifyChannels.MessageFinished, message.Id.ToString("D"));
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            // The message as given was read in the transaction that just committed: wait before reading again.
            var remaining = timeout - Stopwatch.GetElapsedTime(started);
            if (MessageStatus.IsFinal(message.Status) || remaining <= TimeSpan.Zero)
            {
                return message;
            }

            await finished.WaitAsync(remaining < PollInterval ? remaining : PollInterval, cancellationToken);
            try
            {
                // A message that vanished (its agent was deleted) is answered as last seen.
                message = await messages.FindAsync(message.AgentId, message.Id, cancellationToken) ?? message;
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested
                && ProblemExceptionHandler.IsDatabaseUnavailable(exception))
            {
                logger.LogDebug("Could not re-read message {MessageId} while waiting for it: {Reason}", message.Id, exception.Message);
            }
        }
    }
}
