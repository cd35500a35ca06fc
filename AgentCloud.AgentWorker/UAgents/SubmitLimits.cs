using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace AgentCloud.AgentWorker.UAgents;

/// <summary>The per-sender and per-agent token buckets of <c>/submit</c> (<see cref="SubmitOptions"/>), in this replica's memory.</summary>
public sealed class SubmitLimits(IOptions<SubmitOptions> options) : IDisposable
{
    private readonly PartitionedRateLimiter<string> senders = PartitionedRateLimiter.Create<string, string>(sender =>
        RateLimitPartition.GetTokenBucketLimiter(sender, _ => Bucket(options.Value.SenderBurst, options.Value.SenderPerSecond)));

    private readonly PartitionedRateLimiter<int> agents = PartitionedRateLimiter.Create<int, int>(agentId =>
        RateLimitPartition.GetTokenBucketLimiter(agentId, _ => Bucket(options.Value.AgentBurst, options.Value.AgentPerSecond)));

    public SubmitOptions Settings => options.Value;

    /// <summary>Null when <paramref name="sender"/> may submit now, else how long until it may.</summary>
    public TimeSpan? CheckSender(string sender) => Check(senders, sender);

    /// <inheritdoc cref="CheckSender"/>
    public TimeSpan? CheckAgent(int agentId) => Check(agents, agentId);

    private static TimeSpan? Check<T>(PartitionedRateLimiter<T> limiter, T key)
    {
        using var lease = limiter.AttemptAcquire(key);
        return lease.IsAcquired ? null
            : lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter
            : TimeSpan.FromSeconds(1);
    }

    private static TokenBucketRateLimiterOptions Bucket(int burst, int perSecond) => new()
    {
        TokenLimit = burst,
        TokensPerPeriod = perSecond,
        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
        QueueLimit = 0,
        AutoReplenishment = true,
    };

    public void Dispose()
    {
        senders.Dispose();
        agents.Dispose();
    }
}
