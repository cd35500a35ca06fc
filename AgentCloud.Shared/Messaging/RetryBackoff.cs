namespace AgentCloud.Shared.Messaging;

/// <summary>When a failed message is tried again: exponential in the attempt number, capped, with a little jitter.</summary>
public static class RetryBackoff
{
    /// <summary>Spread of the jitter: the delay lands within ±10 % of the exponential value.</summary>
    public const double JitterFraction = 0.1;

    /// <param name="attempt">The attempt that just failed, from 1.</param>
    /// <param name="jitterSample">A number in [0, 1): 0.5 means no jitter (tests pass a fixed one).</param>
    public static TimeSpan Delay(int attempt, TimeSpan baseDelay, TimeSpan maxDelay, double jitterSample)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(baseDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDelay, baseDelay);

        // 2^(attempt-1) grows past any sane cap long before double loses it; clamp the exponent anyway.
        var exponential = baseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 62));
        var jittered = exponential * (1 + JitterFraction * (2 * Math.Clamp(jitterSample, 0, 1) - 1));
        return TimeSpan.FromMilliseconds(Math.Min(jittered, maxDelay.TotalMilliseconds));
    }

    public static TimeSpan Delay(int attempt, TimeSpan baseDelay, TimeSpan maxDelay) =>
        Delay(attempt, baseDelay, maxDelay, Random.Shared.NextDouble());
}
