using AgentCloud.AgentWorker.Messaging;
using AgentCloud.Shared.Messaging;
using Microsoft.Extensions.Options;

namespace AgentCloud.AgentWorker.Outbox;

/// <summary>Wakes the outbox loop (<see cref="OutboxProcessor"/>).</summary>
public sealed class OutboxSignal : WakeSignal;

/// <summary>Wakes the outbox loop when an agent queues a message for remote delivery (<c>agent_outbox</c>).</summary>
public sealed class OutboxListener(
    IConfiguration configuration, OutboxSignal signal, IOptions<OutboxOptions> options, ILogger<OutboxListener> logger)
    : ChannelListener(configuration, signal, NotifyChannels.Outbox, options.Value.ReconnectBaseDelay, options.Value.ReconnectMaxDelay, logger);
