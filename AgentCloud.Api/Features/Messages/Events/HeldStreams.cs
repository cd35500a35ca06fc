using System.ComponentModel.DataAnnotations;
using AgentCloud.Shared.Quotas;
using Microsoft.Extensions.Options;

namespace AgentCloud.Api.Features.Messages.Events;

/// <summary>How many event streams (message, run and log streams, on every door) the API holds open, bound from <c>Streams</c>.</summary>
public sealed class StreamOptions
{
    public const string SectionName = "Streams";

    /// <summary>Streams one user holds at once; past it a new one is a 429 and the open ones go on.</summary>
    [Range(1, 100_000)]
    public int MaxPerUser { get; set; } = 50;

    /// <summary>Streams this API process holds at once, every user's together.</summary>
    [Range(1, 1_000_000)]
    public int MaxTotal { get; set; } = 2000;
}

/// <summary>
/// Counts the event streams held open, per user and in all, so that no one user's streams (and not all of them together) can
/// crowd the process. A stream holds a slot from before it starts (so a refusal is still a plain 429 in its door's shape) to
/// its end. It holds no database connection while it waits (the <see cref="AgentCloud.Shared.Messaging.NotificationHub"/>
/// wakes it), only for each read, and its reads queue for the pool in a burst: the slots bound those bursts.
/// </summary>
public sealed class HeldStreams(IOptions<StreamOptions> options)
{
    private readonly Lock gate = new();
    private readonly Dictionary<int, int> perUser = [];
    private int total;

    public const string PerUserQuota = "event_streams_per_user";
    public const string TotalQuota = "event_streams";

    /// <summary>How soon a refused stream may be tried again.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A slot for one more stream of <paramref name="userId"/>, held until disposed. When the user or the process holds as many
    /// as it may, a <see cref="QuotaExceededException"/> (429 with Retry-After), which every door answers in its own shape.
    /// </summary>
    public Slot Hold(int userId)
    {
        var limits = options.Value;
        lock (gate)
        {
            var held = perUser.GetValueOrDefault(userId);
            if (held >= limits.MaxPerUser)
            {
                throw new QuotaExceededException(PerUserQuota, limits.MaxPerUser,
                    $"You hold {held} open event streams, the most one user may (Streams:MaxPerUser); close one, or retry later.",
                    RetryAfter);
            }

            if (total >= limits.MaxTotal)
            {
                throw new QuotaExceededException(TotalQuota, limits.MaxTotal,
                    "The API holds as many open event streams as it may (Streams:MaxTotal); retry later.", RetryAfter);
            }

            perUser[userId] = held + 1;
            total++;
            return new Slot(this, userId);
        }
    }

    private void Release(int userId)
    {
        lock (gate)
        {
            total--;
            if (--perUser[userId] == 0)
            {
                perUser.Remove(userId);
            }
        }
    }

    public sealed class Slot(HeldStreams owner, int userId) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                owner.Release(userId);
            }
        }
    }
}
