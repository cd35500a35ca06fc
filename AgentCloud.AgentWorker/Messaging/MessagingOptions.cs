using System.ComponentModel.DataAnnotations;

namespace AgentCloud.AgentWorker.Messaging;

/// <summary>Tunables of the message runtime, bound from <c>AgentWorker:Messaging</c> (env: <c>AgentWorker__Messaging__…</c>).</summary>
public sealed class MessagingOptions
{
    public const string SectionName = "AgentWorker:Messaging";

    /// <summary>The processing loop looks for work at least this often, notifications or not (due retries, expired leases).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How many agents' head messages one claim takes at most (never more than the free handling slots).</summary>
    [Range(1, 1000)]
    public int BatchSize { get; set; } = 16;

    /// <summary>How many claimed messages (all of different agents) are handled at once.</summary>
    [Range(1, 256)]
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>
    /// How many runs that await I/O (an llm agent's model calls, MCP tools) a worker keeps in flight at once. They hold
    /// no handling slot and no pooled connection while they wait, so this is bounded by memory, not by cores.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxRunsInFlight { get; set; } = 256;

    /// <summary>
    /// How many of one agent's messages a handling slot works through in a row, each commit claiming the next,
    /// before the slot goes back to the claim loop and other agents get their turn.
    /// </summary>
    [Range(1, 10000)]
    public int RunLength { get; set; } = 128;

    /// <summary>
    /// How many of a run's messages commit together, in one transaction, when the agent's behaviour is pure
    /// (<see cref="Shared.Messaging.Behaviors.IAgentBehavior.IsPure"/>); 1 commits each on its own.
    /// </summary>
    [Range(1, 1000)]
    public int CommitLength { get; set; } = 32;

    /// <summary>How long a claim is ours; a worker that dies loses its messages to another one after this.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Attempts before a message is dead.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>How many agents a message may pass through (forwards) before it is dropped with a warning.</summary>
    [Range(1, 1000)]
    public int MaxHops { get; set; } = 16;

    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How stale the queue-depth gauge may be; the loop refreshes it, scrapes never query.</summary>
    public TimeSpan QueueDepthRefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>At shutdown, how long in-flight messages may take before they are abandoned to their leases.</summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First wait before reconnecting the listener or retrying the loop after a database error; doubles up to
    /// <see cref="ReconnectMaxDelay"/>.</summary>
    public TimeSpan ReconnectBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(15);

    internal static bool AreConsistent(MessagingOptions options) =>
        options.PollInterval > TimeSpan.Zero
        && options.LeaseDuration > TimeSpan.FromSeconds(1)
        && options.RetryBaseDelay >= TimeSpan.Zero
        && options.RetryMaxDelay >= options.RetryBaseDelay
        && options.ReconnectBaseDelay > TimeSpan.Zero
        && options.ReconnectMaxDelay >= options.ReconnectBaseDelay;
}
