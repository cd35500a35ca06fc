using System.Diagnostics.Metrics;

namespace AgentCloud.AgentWorker.Messaging;

/// <summary>The message runtime's instruments (meter <c>AgentCloud.Messaging</c>, exported by the service defaults).</summary>
public sealed class MessagingMetrics
{
    public const string MeterName = "AgentCloud.Messaging";

    private readonly Counter<long> handled;
    private readonly Counter<long> failed;
    private readonly Counter<long> dead;
    private readonly Counter<long> parked;
    private readonly Histogram<double> latency;
    private long queueDepth = -1;

    public MessagingMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        handled = meter.CreateCounter<long>("agentcloud.messages.handled", "{message}", "Messages handled to done.");
        failed = meter.CreateCounter<long>("agentcloud.messages.failed", "{message}", "Failed attempts that will be retried.");
        dead = meter.CreateCounter<long>("agentcloud.messages.dead", "{message}", "Messages given up after their last attempt.");
        parked = meter.CreateCounter<long>("agentcloud.messages.parked", "{message}",
            "Runs that parked to wait (for a reply) holding nothing; each wakes and resumes later.");
        latency = meter.CreateHistogram<double>("agentcloud.messages.latency", "ms", "Time from accepted (committed) to done.");
        meter.CreateObservableGauge("agentcloud.messages.queue_depth", ObserveQueueDepth, "{message}",
            "Inbound messages queued, processing or waiting for a retry, as last counted by this worker.");
    }

    public void Handled(string behavior, double latencyMilliseconds)
    {
        var tag = new KeyValuePair<string, object?>("agentcloud.behavior", behavior);
        handled.Add(1, tag);
        latency.Record(latencyMilliseconds, tag);
    }

    public void Failed(string behavior) => failed.Add(1, new KeyValuePair<string, object?>("agentcloud.behavior", behavior));

    public void Dead(string behavior) => dead.Add(1, new KeyValuePair<string, object?>("agentcloud.behavior", behavior));

    public void Parked() => parked.Add(1);

    public void SetQueueDepth(long depth) => Interlocked.Exchange(ref queueDepth, depth);

    // Nothing until the loop has counted once: a made-up 0 would read as an empty queue.
    private IEnumerable<Measurement<long>> ObserveQueueDepth()
    {
        var depth = Interlocked.Read(ref queueDepth);
        return depth < 0 ? [] : [new Measurement<long>(depth)];
    }
}
