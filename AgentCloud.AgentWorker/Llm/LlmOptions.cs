using System.ComponentModel.DataAnnotations;

namespace AgentCloud.AgentWorker.Llm;

/// <summary>Limits and tunables of llm agents' runs, bound from <c>AgentWorker:Llm</c> (env: <c>AgentWorker__Llm__…</c>).</summary>
public sealed class LlmOptions
{
    public const string SectionName = "AgentWorker:Llm";

    /// <summary>Model calls one run (the handling of one message) may make.</summary>
    [Range(1, 1000)]
    public int MaxModelCalls { get; set; } = 10;

    [Range(0, 1000)]
    public int MaxToolCalls { get; set; } = 20;

    /// <summary>From a run's first stored step (or its start) to its answer, across attempts.</summary>
    public TimeSpan MaxWallTime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Output tokens all of one run's model calls may produce together.</summary>
    [Range(1, 100_000_000)]
    public int MaxOutputTokens { get; set; } = 100_000;

    /// <summary>How long one model call may take; longer is a failed attempt (retried later).</summary>
    public TimeSpan ModelCallTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Model calls one worker has in flight at once on one model connection (all its models), so a provider's own limit on
    /// concurrent requests is not exceeded; more wait their turn (a 429 is still retried with backoff). The default matches
    /// <see cref="Messaging.MessagingOptions.MaxRunsInFlight"/>: hosted providers limit requests and tokens per minute (and
    /// answer 429), not requests at once; set it lower for a server that queues, such as one local GPU.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxConcurrentCallsPerConnection { get; set; } = 256;

    /// <summary>Retries of one model call on 429, 5xx and network errors (with backoff, honouring Retry-After) before the attempt
    /// fails.</summary>
    [Range(0, 10)]
    public int ProviderRetries { get; set; } = 3;

    /// <summary>Characters of earlier turns the model sees at most; the oldest turns go first.</summary>
    [Range(0, 10_000_000)]
    public int HistoryBudgetChars { get; set; } = 48_000;

    /// <summary>How long send_message waits for the other agent's reply before the tool answers "no reply".</summary>
    public TimeSpan SendMessageReplyTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Whether the GenAI spans carry prompt and answer texts (off: only model, tokens, timings).</summary>
    public bool RecordMessageContent { get; set; }
}
