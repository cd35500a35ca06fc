using System.Diagnostics;
using System.Threading.Channels;
using AgentCloud.Api.Features.Quotas;
using AgentCloud.Shared.Hosting;
using AgentCloud.Shared.Messaging;
using Npgsql;
using MessageTable = AgentCloud.Shared.Messaging.Messages;

namespace AgentCloud.Api.Features.Messages;

/// <summary>
/// Owners' messages to their agents, committed together (group commit): a send waits in a queue, and each of a few loops
/// takes what has gathered, up to <see cref="MessageTable.MaxOwnerSendsPerStatement"/>, into one statement and one commit
/// (<see cref="MessageTable.EnqueueForOwnersAsync"/>). A send is answered only after its commit. Alone, a send costs one round
/// trip; under load, dozens share one. A send its batch could not decide for itself (the user's day had no room for it behind
/// the others of the batch), and every send of a batch that failed, runs again alone: what one send meets is never another's.
/// </summary>
/// <remarks>
/// Why: on these machines each round trip to PostgreSQL costs the server more than the statement itself (system calls and
/// wake-ups); one statement and one commit per message held the API to about 500 sends a second.
/// </remarks>
public sealed class OwnerSends(NpgsqlDataSource dataSource, QuotaChecks quotas, Wakeups wakeups, ILogger<OwnerSends> logger) : IHostedService
{
    /// <summary>A span of the API's own work, such as a batch of sends.</summary>
    public const string ActivitySourceName = "AgentCloud.Api";

    // Enough that one batch is being committed while the next gathers, few enough that batches gather.
    private const int Loops = 3;

    private static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    private readonly Channel<Pending> queue = Channel.CreateUnbounded<Pending>();
    private Task[] loops = [];

    private sealed record Pending(OwnerSend Send, Activity? Request, TaskCompletionSource<OwnerSendResult> Result);

    /// <summary>Stores the send (after the others queued with it), or finds why not: see <see cref="OwnerSendResult"/>.</summary>
    public Task<OwnerSendResult> SendAsync(OwnerSend send)
    {
        var pending = new Pending(send, Activity.Current, new(TaskCreationOptions.RunContinuationsAsynchronously));
        // After StopAsync no loop reads the queue: a late send goes alone.
        return queue.Writer.TryWrite(pending) ? pending.Result.Task : RunAloneAsync(pending);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        loops = [.. Enumerable.Range(0, Loops).Select(_ => Task.Run(RunAsync, CancellationToken.None))];
        return Task.CompletedTask;
    }

    /// <summary>Stops taking sends; those already queued are still stored and answered.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        queue.Writer.TryComplete();
        await Task.WhenAll(loops).WaitAsync(cancellationToken);
    }

    private async Task RunAsync()
    {
        List<Pending> batch = [];
        while (await queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < MessageTable.MaxOwnerSendsPerStatement && queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            if (batch.Count > 0)
            {
                await RunBatchAsync(batch);
                batch.Clear();
            }
        }
    }

    private async Task<OwnerSendResult> RunAloneAsync(Pending pending)
    {
        await RunBatchAsync([pending]);
        return await pending.Result.Task;
    }

    private async Task RunBatchAsync(List<Pending> batch)
    {
        IReadOnlyList<OwnerSendResult> results;
        // Alone, the send's statements are its request's own, as if it had run them itself; a batch's belong to a span in the
        // first send's trace that links to the others'. (Activity.Current is the async flow's: it is ours again when this returns.)
        using var activity = batch.Count == 1 ? null : ActivitySource.StartActivity("send messages", ActivityKind.Internal,
            batch[0].Request?.Context ?? default, links: batch.Skip(1).Select(pending => new ActivityLink(pending.Request?.Context ?? default)));
        Activity.Current = activity ?? batch[0].Request;
        activity?.SetTag("messaging.batch.message_count", batch.Count);
        try
        {
            await using var connection = await dataSource.OpenQueuedConnectionAsync(CancellationToken.None);
            var day = await quotas.DayQuotaAsync(connection, CancellationToken.None);
            results = await MessageTable.EnqueueForOwnersAsync(connection, [.. batch.Select(pending => pending.Send)],
                quotas.Limits.QueuedMessagesPerAgent, day, CancellationToken.None);
        }
        catch (Exception exception) when (batch.Count > 1)
        {
            logger.LogDebug(exception, "A batch of {Count} sends failed; each runs again alone", batch.Count);
            await Task.WhenAll(batch.Select(pending => RunBatchAsync([pending])));
            return;
        }
        catch (Exception exception)
        {
            batch[0].Result.TrySetException(exception);
            return;
        }

        List<Pending> again = [];
        for (var i = 0; i < batch.Count; i++)
        {
            var result = results[i];
            if (batch.Count > 1 && result is { Owned: true, HasAddress: true, QueueFull: false, HasRoom: false, Message: null })
            {
                // Behind the others of its batch the day had no room: alone, it is decided exactly.
                again.Add(batch[i]);
                continue;
            }

            if (result.Stored)
            {
                wakeups.Queued(result.Message!);
            }

            batch[i].Result.TrySetResult(result);
        }

        await Task.WhenAll(again.Select(pending => RunBatchAsync([pending])));
    }
}
