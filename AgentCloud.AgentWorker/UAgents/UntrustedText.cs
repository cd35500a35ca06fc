using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace AgentCloud.AgentWorker.UAgents;

/// <summary>Text from outside (an envelope's sender, a URL) made safe for one log line: short, and nothing that breaks or fakes a line.</summary>
public static class UntrustedText
{
    public const int DefaultMaxLength = 100;

    /// <summary>At most <paramref name="maxLength"/> characters, control and line-breaking characters escaped as <c>\uXXXX</c>.</summary>
    public static string ForLog(string? text, int maxLength = DefaultMaxLength)
    {
        if (text is null)
        {
            return "(none)";
        }

        var builder = new StringBuilder(Math.Min(text.Length, maxLength) + 24);
        var shown = 0;
        for (; shown < text.Length && shown < maxLength; shown++)
        {
            var c = text[shown];
            if (char.IsControl(c) || c is '\u2028' or '\u2029' or '\u200e' or '\u200f' || c is >= '\u202a' and <= '\u202e'
                || c is >= '\u2066' and <= '\u2069' || char.IsSurrogate(c) && !IsPaired(text, shown))
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                builder.Append(c);
            }
        }

        if (shown < text.Length)
        {
            builder.Append(CultureInfo.InvariantCulture, $"…({text.Length} characters)");
        }

        return builder.ToString();
    }

    private static bool IsPaired(string text, int i) =>
        char.IsHighSurrogate(text[i]) ? i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])
        : i > 0 && char.IsHighSurrogate(text[i - 1]);
}

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

    /// <summary>Whether a warning of <paramref name="kind"/> may be written now; if so, how many were held back since the last one.</summary>
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
