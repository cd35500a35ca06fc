using System.Diagnostics;
using System.Threading.Channels;

namespace AgentCloud.Shared.Data;

/// <summary>
/// Calls that share a round trip to the database: a caller queues its item and awaits its result, and each of a few loops
/// takes what has gathered (up to <c>maxBatch</c>) and runs it as one batch. Alone, an item runs at once, as it would have
/// without the queue; under load, dozens share one statement (and one commit, where the batch writes). An item of a batch
/// that failed, or whose result only running alone can decide (<c>runAgainAlone</c>), runs again alone, so what one item
/// meets is never another's. A batch's statements are traced in the first item's trace, under a span that links to the
/// others'; an item alone is traced as its caller's own.
/// </summary>
/// <remarks>
/// Why: on these machines each round trip costs PostgreSQL more than the statement itself (system calls and wake-ups), so
/// the API's throughput was bound by its round trips per request (perf: 35% of all CPU in the backends serving the API),
/// and the worker's by its completions: the more handling slots, the shorter each agent's run, the more completions.
/// </remarks>
public sealed class Batcher<TItem, TResult> : IAsyncDisposable
{
    private static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    private readonly string name;
    private readonly int maxBatch;
    private readonly Func<IReadOnlyList<TItem>, Task<IReadOnlyList<TResult>>> run;
    private readonly Func<TResult, bool> runAgainAlone;
    private readonly Channel<Pending> queue = Channel.CreateUnbounded<Pending>();
    private readonly Task[] loops;

    private sealed record Pending(TItem Item, Activity? Caller, TaskCompletionSource<TResult> Result);

    /// <param name="name">The batch span's name.</param>
    /// <param name="maxBatch">The most items one batch takes.</param>
    /// <param name="loops">Batches under way at once: enough that one runs while the next gathers, few enough that they gather.</param>
    /// <param name="run">Runs a batch; one result per item, in order.</param>
    /// <param name="runAgainAlone">True for a result in a batch that the item alone might not get (null: none).</param>
    public Batcher(string name, int maxBatch, int loops, Func<IReadOnlyList<TItem>, Task<IReadOnlyList<TResult>>> run,
        Func<TResult, bool>? runAgainAlone = null)
    {
        this.name = name;
        this.maxBatch = maxBatch;
        this.run = run;
        this.runAgainAlone = runAgainAlone ?? (_ => false);
        this.loops = [.. Enumerable.Range(0, loops).Select(_ => Task.Run(RunLoopAsync))];
    }

    /// <summary>The batches' spans, in whichever process runs them.</summary>
    public const string ActivitySourceName = "AgentCloud.Batches";

    /// <summary>The item's result, from the batch it ran in (its exception, if it failed alone).</summary>
    public Task<TResult> RunAsync(TItem item)
    {
        var pending = new Pending(item, Activity.Current, new(TaskCreationOptions.RunContinuationsAsynchronously));
        // Once disposed no loop reads the queue: a late item runs alone.
        return queue.Writer.TryWrite(pending) ? pending.Result.Task : RunAloneAsync(pending);
    }

    /// <summary>Stops taking items; those already queued still run (the container disposes this after the server drained its
    /// requests).</summary>
    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        await Task.WhenAll(loops);
    }

    private async Task RunLoopAsync()
    {
        List<Pending> batch = [];
        while (await queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < maxBatch && queue.Reader.TryRead(out var pending))
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

    private async Task<TResult> RunAloneAsync(Pending pending)
    {
        await RunBatchAsync([pending]);
        return await pending.Result.Task;
    }

    private async Task RunBatchAsync(List<Pending> batch)
    {
        IReadOnlyList<TResult> results;
        // Activity.Current belongs to this async flow: the loop's is its own again when this returns.
        using var activity = batch.Count == 1 ? null : ActivitySource.StartActivity(name, ActivityKind.Internal,
            batch[0].Caller?.Context ?? default,
            links: batch.Skip(1).Where(pending => pending.Caller is not null).Select(pending => new ActivityLink(pending.Caller!.Context)));
        Activity.Current = activity ?? batch[0].Caller;
        activity?.SetTag("agentcloud.batch.size", batch.Count);
        try
        {
            results = await run([.. batch.Select(pending => pending.Item)]);
        }
        catch (Exception) when (batch.Count > 1)
        {
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
            if (batch.Count > 1 && runAgainAlone(results[i]))
            {
                again.Add(batch[i]);
            }
            else
            {
                batch[i].Result.TrySetResult(results[i]);
            }
        }

        await Task.WhenAll(again.Select(pending => RunBatchAsync([pending])));
    }
}
