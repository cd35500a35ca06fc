using System.Collections.Concurrent;

namespace AgentCloud.AgentWorker.UAgents;

/// <summary>
/// A token bucket per kind of warning: a flood of bad envelopes writes a few lines and a count of the
/// rest, not one line per envelope.
/// </summary>
public sealed class WarningThrottle(int burst, int perMinute, TimeProvider time)
{
    private sealed class Bucket
    {
        public double Tokens;
        public long LastTicks;
        public long Suppressed;
    }

    private readonly ConcurrentDictionary<string, Bucket> buckets = new(StringComparer.Ordinal);

    /// <summary>Whether a warning of <paramref name="kind"/> may be written now; if so, how many were held back since the last
    /// one.</summary>
    public bool TryTake(string kind, out long suppressed)
    {
        var bucket = buckets.GetOrAdd(kind, _ => new Bucket { Tokens = burst, LastTicks = time.GetTimestamp() });
        lock (bucket)
        {
            var now = time.GetTimestamp();
            bucket.Tokens = Math.Min(burst, bucket.Tokens + time.GetElapsedTime(bucket.LastTicks, now).TotalMinutes * perMinute);
            bucket.LastTicks = now;
            if (bucket.Tokens >= 1)
            {
                bucket.Tokens--;
                suppressed = bucket.Suppressed;
                bucket.Suppressed = 0;
                return true;
            }

            bucket.Suppressed++;
            suppressed = 0;
            return false;
        }
    }
}
