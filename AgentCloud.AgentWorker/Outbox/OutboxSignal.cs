using AgentCloud.AgentWorker.Messaging;
using AgentCloud.Shared.Messaging;

namespace AgentCloud.AgentWorker.Outbox;

/// <summary>Wakes the outbox loop (<see cref="OutboxProcessor"/>).</summary>
public sealed class OutboxSignal(NotificationHub hub) : WakeSignal(hub, NotifyChannels.Outbox);
