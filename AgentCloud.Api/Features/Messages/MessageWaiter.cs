using AgentCloud.Shared.Messaging;

namespace AgentCloud.Api.Features.Messages;

/// <summary>The doors' <c>?wait</c>: <see cref="FinishedMessages"/> reading the message through <see cref="MessageStore"/>.</summary>
public sealed class MessageWaiter(MessageStore messages, FinishedMessages finished)
{
    /// <summary>The message once finished, or as last seen when <paramref name="timeout"/> runs out (a message that vanished, its agent
    /// deleted, as given).</summary>
    public Task<MessageRow> WaitUntilFinishedAsync(MessageRow message, TimeSpan timeout, CancellationToken cancellationToken) =>
        finished.WaitAsync(message.Id, message, async ct => await messages.FindAsync(message.AgentId, message.Id, ct) ?? message,
            row => MessageStatus.IsFinal(row.Status), timeout, cancellationToken);

    /// <summary>As <see cref="WaitUntilFinishedAsync"/>, but also done waiting once <paramref name="settled"/> holds (read again on each
    /// run event).</summary>
    public Task<MessageRow> WaitUntilFinishedOrAsync(MessageRow message, Func<MessageRow, bool> settled, TimeSpan timeout,
        CancellationToken cancellationToken) =>
        finished.WaitAsync(message.Id, message, async ct => await messages.FindAsync(message.AgentId, message.Id, ct) ?? message,
            row => MessageStatus.IsFinal(row.Status) || settled(row), timeout, cancellationToken, [RunEvents.Channel]);
}
