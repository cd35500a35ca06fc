using System.ComponentModel.DataAnnotations;

namespace AgentCloud.AgentWorker.UAgents;

/// <summary>
/// What <c>POST /submit</c> takes from remote senders, bound from <c>AgentWorker:Submit</c> (env:
/// <c>AgentWorker__Submit__…</c>). The rates are token buckets per worker replica; the queue cap is exact
/// (counted in the database). Over any of them: HTTP 429 with <c>Retry-After</c>.
/// </summary>
public sealed class SubmitOptions
{
    public const string SectionName = "AgentWorker:Submit";

    /// <summary>Envelopes one sender address may submit in a burst.</summary>
    [Range(1, 1_000_000)]
    public int SenderBurst { get; set; } = 20;

    /// <summary>Envelopes per second one sender address gets back, once its burst is spent.</summary>
    [Range(1, 1_000_000)]
    public int SenderPerSecond { get; set; } = 5;

    /// <summary>Envelopes one hosted agent may receive in a burst, from all senders together.</summary>
    [Range(1, 1_000_000)]
    public int AgentBurst { get; set; } = 200;

    /// <summary>Envelopes per second one hosted agent gets back once its burst is spent.</summary>
    [Range(1, 1_000_000)]
    public int AgentPerSecond { get; set; } = 50;

    /// <summary>
    /// Messages from senders other than the owner that may wait in one agent's inbox (queued, in progress
    /// or failed and retrying); a submit past it is refused until the agent catches up.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxQueuedPerAgent { get; set; } = 500;

    /// <summary>Warnings about refused envelopes, per kind of refusal: a burst, then this many per minute.</summary>
    [Range(1, 100_000)]
    public int WarningBurst { get; set; } = 10;

    [Range(1, 100_000)]
    public int WarningsPerMinute { get; set; } = 6;
}
