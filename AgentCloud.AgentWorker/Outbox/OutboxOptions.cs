using System.ComponentModel.DataAnnotations;

namespace AgentCloud.AgentWorker.Outbox;

/// <summary>Tunables of remote delivery, bound from <c>AgentWorker:Outbox</c> (env: <c>AgentWorker__Outbox__…</c>).</summary>
public sealed class OutboxOptions
{
    public const string SectionName = "AgentWorker:Outbox";

    /// <summary>The loop looks for due messages at least this often, notifications or not (retries, expired leases).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Deliveries in flight at once; each has its own timeout, so a dead peer holds one slot, not the loop.</summary>
    [Range(1, 256)]
    public int MaxConcurrency { get; set; } = 16;

    /// <summary>How long a claimed delivery is ours; longer than any attempt.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>One POST to a peer, connecting included.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>One POST with <c>x-uagents-connection: sync</c>: the peer answers once its agent replied.</summary>
    public TimeSpan SyncAttemptTimeout { get; set; } = TimeSpan.FromSeconds(35);

    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 8;

    /// <summary>A message not delivered this long after it was sent is dead (its <c>expires_at</c>, set at the first claim).</summary>
    public TimeSpan DeliveryWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Each envelope's <c>expires</c>: now plus this.</summary>
    public TimeSpan EnvelopeLifetime { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(1);

    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan ReconnectBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(15);

    internal static bool AreConsistent(OutboxOptions options) =>
        options.PollInterval > TimeSpan.Zero
        && options.AttemptTimeout > TimeSpan.Zero
        && options.SyncAttemptTimeout > TimeSpan.Zero
        && options.LeaseDuration > options.AttemptTimeout
        && options.LeaseDuration > options.SyncAttemptTimeout
        && options.DeliveryWindow > TimeSpan.Zero
        && options.EnvelopeLifetime > TimeSpan.Zero
        && options.RetryBaseDelay >= TimeSpan.Zero
        && options.RetryMaxDelay >= options.RetryBaseDelay
        && options.ReconnectBaseDelay > TimeSpan.Zero
        && options.ReconnectMaxDelay >= options.ReconnectBaseDelay;
}
