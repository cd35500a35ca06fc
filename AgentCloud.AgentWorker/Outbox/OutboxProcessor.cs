using AgentCloud.AgentWorker.Messaging;
using AgentCloud.Shared.Messaging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AgentCloud.AgentWorker.Outbox;

/// <summary>
/// The outbox's run of the <see cref="ClaimLoop{T}"/>: claims due outbound messages (one by one, not head
/// of line) and delivers each on its own with its own timeout, so a slow or dead peer holds one slot and
/// never the loop or the other peers.
/// </summary>
public sealed class OutboxProcessor(
    NpgsqlDataSource dataSource,
    OutboxDelivery delivery,
    OutboxSignal signal,
    WorkerIdentity worker,
    IOptions<OutboxOptions> options,
    ILogger<OutboxProcessor> logger) : ClaimLoop<OutboundMessage>(signal, worker, logger)
{
    protected override ClaimLoopSettings Settings { get; } = new("outbound messages", options.Value.MaxConcurrency,
        options.Value.MaxConcurrency, options.Value.PollInterval, options.Value.ShutdownGrace, options.Value.ReconnectBaseDelay,
        options.Value.ReconnectMaxDelay);

    protected override async Task<IReadOnlyList<OutboundMessage>> ClaimAsync(int count, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await MessageTable.ClaimOutboundAsync(connection, LeaseOwner, options.Value.LeaseDuration, options.Value.DeliveryWindow,
            count, cancellationToken);
    }

    protected override Task HandleAsync(OutboundMessage item, CancellationToken cancellationToken) =>
        delivery.DeliverAsync(item, cancellationToken);
}
