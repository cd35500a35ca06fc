using System.Diagnostics.Metrics;
using AgentCloud.AgentWorker.Messaging;

namespace AgentCloud.AgentWorker.Outbox;

/// <summary>Remote delivery's instruments, on the message runtime's meter <c>AgentCloud.Messaging</c>.</summary>
public sealed class OutboxMetrics
{
    private readonly Counter<long> delivered;
    private readonly Counter<long> failed;
    private readonly Counter<long> dead;

    public OutboxMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MessagingMetrics.MeterName);
        delivered = meter.CreateCounter<long>("agentcloud.outbox.delivered", "{message}", "Outbound messages a peer accepted (HTTP 200).");
        failed = meter.CreateCounter<long>("agentcloud.outbox.failed", "{message}", "Failed delivery attempts that will be retried.");
        dead = meter.CreateCounter<long>("agentcloud.outbox.dead", "{message}", "Outbound messages given up.");
    }

    public void Delivered(bool sync) => delivered.Add(1, new KeyValuePair<string, object?>("agentcloud.outbox.sync", sync));

    public void Failed() => failed.Add(1);

    public void Dead() => dead.Add(1);
}
