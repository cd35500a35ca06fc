using System.Threading.Channels;
using AgentCloud.Shared.Messaging;

namespace AgentCloud.AgentWorker.Messaging;

/// <summary>
/// Wakes a processing loop. Any number of wake-ups between two waits fold into one: the loop
/// re-reads the table anyway, so it only needs to know that something may have changed. Woken by every
/// notification on its channel and whenever the hub reconnects.
/// </summary>
public class WakeSignal
{
    protected WakeSignal(NotificationHub hub, string channel) => hub.Subscribe(channel, Wake);

    private readonly Channel<bool> channel = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Wake() => channel.Writer.TryWrite(true);

    /// <summary>Returns when woken or after <paramref name="timeout"/>, whichever comes first.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (channel.Reader.TryRead(out _))
        {
            return;
        }

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            await channel.Reader.WaitToReadAsync(timeoutSource.Token);
            channel.Reader.TryRead(out _);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The poll interval passed: look anyway.
        }
    }
}

/// <summary>Wakes the inbox loop (<see cref="MessageProcessor"/>).</summary>
public sealed class InboxSignal(NotificationHub hub) : WakeSignal(hub, NotifyChannels.Inbox);
