namespace AgentCloud.IntegrationTests;

/// <summary>
/// The one way a test waits for a condition: poll until the attempt gives a value, fail at a deadline, and stop on
/// cancellation. An attempt that hangs (a request that never answers) is cut off at the deadline too, so no wait can
/// hang a run.
/// </summary>
public static class Wait
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>The first non-null value of <paramref name="attempt"/>, polled every 100 ms for up to <paramref name="seconds"/>.</summary>
    public static Task<T> ForAsync<T>(Func<Task<T?>> attempt, int seconds = 20, CancellationToken cancellationToken = default)
        where T : class =>
        ForAsync(_ => attempt(), TimeSpan.FromSeconds(seconds), cancellationToken);

    /// <summary>The first non-null value of <paramref name="attempt"/>, which gets a token that ends at the deadline.</summary>
    public static async Task<T> ForAsync<T>(Func<CancellationToken, Task<T?>> attempt, TimeSpan timeout,
        CancellationToken cancellationToken = default) where T : class
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            while (true)
            {
                if (await attempt(deadline.Token).WaitAsync(deadline.Token) is { } result)
                {
                    return result;
                }

                await Task.Delay(Interval, deadline.Token);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Nothing came within {timeout.TotalSeconds:0.#} s.");
        }
    }
}
