using System.Diagnostics;
using System.Runtime.CompilerServices;
using AgentCloud.Shared.Hosting;
using AgentCloud.Shared.Llm;
using AgentCloud.Shared.Messaging;
using Npgsql;

namespace AgentCloud.Api.Features.Messages.Events;

/// <summary>The stream event types every streaming door maps from.</summary>
public static class FeedEventTypes
{
    public const string Accepted = "accepted";
    public const string Done = "done";
    public const string Error = "error";
    /// <summary>Not an event: nothing happened for a while; doors send a keep-alive.</summary>
    public const string Heartbeat = "heartbeat";
}

/// <summary>
/// One event of a message's stream. <see cref="Id"/> is the SSE id: 0 for <c>accepted</c>, the run
/// event's seq (1, 2, …) for what the run produced, one past the last for <c>done</c>/<c>error</c>.
/// <see cref="Message"/> is set on accepted, done and error; <see cref="DataJson"/> on the run's events.
/// </summary>
public sealed record FeedEvent(long Id, string Type, string? DataJson, MessageRow? Message)
{
    /// <summary>The text of a <c>delta</c> event, else null.</summary>
    public string? DeltaText => Type == RunEventTypes.Delta && DataJson is { } json
        && System.Text.Json.Nodes.JsonNode.Parse(json)?["text"] is System.Text.Json.Nodes.JsonValue value
        && value.TryGetValue<string>(out var text) ? text : null;
}

/// <summary>
/// Follows one message from accepted to its end for the streaming doors. The run's events come from
/// <c>run_events</c> (written by whichever worker runs it); accepted and the end come from the message
/// row itself, so every behaviour streams, and a run that moved to another worker after a crash goes on
/// in the same stream. Waits hold no database connection: the <see cref="NotificationHub"/> wakes it on
/// <c>run_events</c> or <c>message_finished</c> (and after it reconnects, when notifications may have been lost).
/// </summary>
public sealed class MessageEventFeed(NpgsqlDataSource dataSource, MessageStore messages, NotificationHub notifications)
{
    private const int BatchSize = 200;
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The events after <paramref name="lastEventId"/> (all of them when null), ending after done or error,
    /// at <paramref name="until"/> (the caller's token expiry) or when the caller leaves.
    /// </summary>
    public async IAsyncEnumerable<FeedEvent> FollowAsync(MessageRow message, long? lastEventId, DateTimeOffset until,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Subscribed before the first read: a notification between a read and the wait still wakes it.
        using var wake = notifications.Subscribe([RunEvents.Channel, NotifyChannels.MessageFinished], message.Id.ToString("D"));
        var sent = lastEventId ?? -1;
        if (sent < 0)
        {
            yield return new FeedEvent(0, FeedEventTypes.Accepted, null, message);
            sent = 0;
        }

        var lastWrite = Stopwatch.GetTimestamp();
        while (!cancellationToken.IsCancellationRequested && DateTimeOffset.UtcNow < until)
        {
            // The events first, so a delta that woke us goes out after one read. Having sent some, wait:
            // the run's next event or its end notifies, and the wake-up is kept if it came meanwhile.
            var events = await ReadEventsAsync(message.Id, sent, cancellationToken);
            foreach (var row in events)
            {
                yield return new FeedEvent(row.Seq, row.Type, row.Data, null);
                sent = row.Seq;
                lastWrite = Stopwatch.GetTimestamp();
            }

            if (events.Count == BatchSize)
            {
                continue;
            }

            if (events.Count == 0)
            {
                var current = await messages.FindAsync(message.AgentId, message.Id, cancellationToken);
                if (current is null)
                {
                    // Its agent was deleted meanwhile: the message is gone, say so as the end.
                    yield return new FeedEvent(sent + 1, FeedEventTypes.Error, null, message);
                    yield break;
                }

                if (MessageStatus.IsFinal(current.Status))
                {
                    // A run stores its events before its end commits, so a read after the row says
                    // finished has them all.
                    for (var last = await ReadEventsAsync(message.Id, sent, cancellationToken); last.Count > 0;
                         last = await ReadEventsAsync(message.Id, sent, cancellationToken))
                    {
                        foreach (var row in last)
                        {
                            yield return new FeedEvent(row.Seq, row.Type, row.Data, null);
                            sent = row.Seq;
                        }
                    }

                    yield return new FeedEvent(sent + 1, current.Status == MessageStatus.Done ? FeedEventTypes.Done : FeedEventTypes.Error,
                        null, current);
                    yield break;
                }
            }

            if (Stopwatch.GetElapsedTime(lastWrite) >= HeartbeatInterval)
            {
                yield return new FeedEvent(-1, FeedEventTypes.Heartbeat, null, null);
                lastWrite = Stopwatch.GetTimestamp();
            }

            var wait = new[] { HeartbeatInterval - Stopwatch.GetElapsedTime(lastWrite), until - DateTimeOffset.UtcNow }.Min();
            await wake.WaitAsync(wait, cancellationToken);
        }
    }

    private async Task<IReadOnlyList<RunEventRow>> ReadEventsAsync(Guid messageId, long afterSeq, CancellationToken cancellationToken)
    {
        // Queued for the pool: many streams woken at once (a reconnect of the hub wakes them all) read in turn, not fail.
        await using var connection = await dataSource.OpenQueuedConnectionAsync(cancellationToken);
        return await RunEvents.ReadAfterAsync(connection, messageId, afterSeq, BatchSize, cancellationToken);
    }
}
