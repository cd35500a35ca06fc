using System.Threading.RateLimiting;

namespace AgentCloud.Api.Features.Auth;

/// <summary>
/// Failed logins per account, from every client together (<c>RateLimiting:LoginPerAccount:PermitLimit</c>
/// failures per <c>WindowSeconds</c>, default 20 per 900 s): once spent, every login to that account is
/// refused until the window ends, right password or not, so rotating client addresses buys nothing.
/// Higher than the per-client limit (10 a minute), so one noisy client is stopped by its own limit
/// first and does not lock the owner out.
/// </summary>
public sealed class LoginThrottle : IDisposable
{
    private readonly PartitionedRateLimiter<string> limiter;

    public LoginThrottle(IConfiguration configuration)
    {
        var section = configuration.GetSection("RateLimiting:LoginPerAccount");
        var permits = section.GetValue("PermitLimit", 20);
        var window = TimeSpan.FromSeconds(section.GetValue("WindowSeconds", 900));
        limiter = PartitionedRateLimiter.Create<string, string>(account => RateLimitPartition.GetFixedWindowLimiter(account,
            _ => new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = window, QueueLimit = 0 }));
    }

    /// <summary>Null when the account may try; else how long until it may.</summary>
    public TimeSpan? Blocked(string username)
    {
        // Zero permits asks whether any are left without spending one.
        using var lease = limiter.AttemptAcquire(Usernames.Key(username), 0);
        if (lease.IsAcquired)
        {
            return null;
        }

        return lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(60);
    }

    public void Failed(string username)
    {
        using var _ = limiter.AttemptAcquire(Usernames.Key(username));
    }

    public void Dispose() => limiter.Dispose();
}
