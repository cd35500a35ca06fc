using AgentCloud.Shared.Data;

namespace AgentCloud.UnitTests.Data;

public sealed class BatcherTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ItemsThatArriveWhileABatchRunsShareTheNextAndEachGetsItsOwnResult()
    {
        var release = new TaskCompletionSource();
        var batches = new List<int[]>();
        await using var batcher = new Batcher<int, int>("test", maxBatch: 8, loops: 1, async items =>
        {
            lock (batches)
            {
                batches.Add([.. items]);
            }

            await release.Task;
            return [.. items.Select(item => item * 10)];
        });

        var first = batcher.RunAsync(0);
        await WaitUntilAsync(() => batches.Count == 1);
        var rest = Enumerable.Range(1, 5).Select(batcher.RunAsync).ToList();
        release.SetResult();

        Assert.Equal(0, await first.WaitAsync(Patience));
        var results = await Task.WhenAll(rest).WaitAsync(Patience);
        Assert.Equal([10, 20, 30, 40, 50], results);
        Assert.Equal([[0], [1, 2, 3, 4, 5]], batches);
    }

    [Fact]
    public async Task TheItemsOfAFailedBatchRunAgainAloneAndOnlyTheOneThatFailsAloneFails()
    {
        var (started, gate) = (new TaskCompletionSource(), new TaskCompletionSource());
        await using var batcher = new Batcher<int, int>("test", maxBatch: 8, loops: 1, async items =>
        {
            started.TrySetResult();
            await gate.Task;
            return items.Contains(3) ? throw new InvalidOperationException("three") : [.. items];
        });

        var blocker = batcher.RunAsync(0);
        await started.Task.WaitAsync(Patience);
        var items = Enumerable.Range(1, 4).Select(batcher.RunAsync).ToList();
        gate.SetResult();

        Assert.Equal(0, await blocker.WaitAsync(Patience));
        Assert.Equal(1, await items[0].WaitAsync(Patience));
        Assert.Equal(2, await items[1].WaitAsync(Patience));
        Assert.Equal("three", (await Assert.ThrowsAsync<InvalidOperationException>(() => items[2].WaitAsync(Patience))).Message);
        Assert.Equal(4, await items[3].WaitAsync(Patience));
    }

    [Fact]
    public async Task AResultOnlyAloneCanDecideIsDecidedAlone()
    {
        var (started, gate) = (new TaskCompletionSource(), new TaskCompletionSource());
        // In a batch, odd items must run alone; each answers with the size of the batch it ran in.
        await using var batcher = new Batcher<int, (int Item, int Size)>("test", maxBatch: 8, loops: 1, async items =>
        {
            started.TrySetResult();
            await gate.Task;
            return [.. items.Select(item => (item, items.Count))];
        }, runAgainAlone: result => result.Item % 2 == 1);

        var blocker = batcher.RunAsync(0);
        await started.Task.WaitAsync(Patience);
        var results = Enumerable.Range(1, 4).Select(batcher.RunAsync).ToList();
        gate.SetResult();

        await blocker.WaitAsync(Patience);
        var answers = await Task.WhenAll(results).WaitAsync(Patience);
        Assert.Equal([(1, 1), (2, 4), (3, 1), (4, 4)], answers);
    }

    [Fact]
    public async Task AfterDisposalAnItemStillRunsAlone()
    {
        var batcher = new Batcher<int, int>("test", maxBatch: 8, loops: 2,
            items => Task.FromResult<IReadOnlyList<int>>([.. items.Select(item => -item)]));
        await batcher.DisposeAsync();

        Assert.Equal(-7, await batcher.RunAsync(7).WaitAsync(Patience));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not come true in time.");
            await Task.Delay(10);
        }
    }
}
