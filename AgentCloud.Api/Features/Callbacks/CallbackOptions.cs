using System.ComponentModel.DataAnnotations;

namespace AgentCloud.Api.Features.Callbacks;

/// <summary>Tunables of callback delivery (webhooks, A2A push), bound from <c>Callbacks</c> (env: <c>Callbacks__…</c>).</summary>
public sealed class CallbackOptions
{
    public const string SectionName = "Callbacks";

    /// <summary>The loop looks for due deliveries at least this often (retries, expired leases, events nobody woke it for).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Deliveries in flight at once; each has its own timeout, so a dead receiver holds one slot, not the loop.</summary>
    [Range(1, 256)]
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>How long a claimed delivery is ours; longer than any attempt.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>One POST to a receiver, connecting included.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 10;

    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>With the defaults, ten attempts spread over about an hour and a half.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(30);

    internal static bool AreConsistent(CallbackOptions options) =>
        options.PollInterval > TimeSpan.Zero
        && options.AttemptTimeout > TimeSpan.Zero
        && options.LeaseDuration > options.AttemptTimeout
        && options.RetryBaseDelay >= TimeSpan.Zero
        && options.RetryMaxDelay >= options.RetryBaseDelay;
}
