using System.Diagnostics;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Messaging;

namespace AgentCloud.Api.Features.Messages;

/// <summary>
/// Waits for a message to finish (done or dead): woken by <c>message_finished</c>, and re-reading the
/// row every half second anyway, so a notification lost to a reconnect never makes a wait miss it.
/// </summary>
public sealed class MessageWaiter(MessageStore messages, DatabaseNotifications notifications)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>The message once finished, or as it stands when <paramref name="timeout"/> runs out.</summary>
    public async Task<MessageRow> WaitUntilFinishedAsync(MessageRow message, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // Subscribed before the first read: a notification between the read and the wait still wakes it.
        using var finished = notifications.Subscribe(NotifyChannels.MessageFinished, message.Id.ToString("D"));
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            // A message that vanished (its agent was deleted) is answered as last seen.
            message = await messages.FindAsync(message.AgentId, message.Id, cancellationToken) ?? message;
            var remaining = timeout - Stopwatch.GetElapsedTime(started);
            if (MessageStatus.IsFinal(message.Status) || remaining <= TimeSpan.Zero)
            {
                return message;
            }

            await finished.WaitAsync(remaining < PollInterval ? remaining : PollInterval, cancellationToken);
        }
    }
}
