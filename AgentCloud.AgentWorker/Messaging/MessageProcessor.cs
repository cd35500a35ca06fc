using System.Diagnostics;
using AgentCloud.Shared.Messaging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AgentCloud.AgentWorker.Messaging;

/// <summary>
/// The inbox's run of the <see cref="ClaimLoop{T}"/>: claims heads of line (one per agent, so order
/// holds) and hands each to the <see cref="MessageHandler"/>.
/// </summary>
public sealed class MessageProcessor(
    NpgsqlDataSource dataSource,
    MessageHandler handler,
    Shared.Messaging.Behaviors.AgentBehaviors behaviors,
    InboxSignal signal,
    WorkerIdentity worker,
    MessagingMetrics metrics,
    IOptions<MessagingOptions> options,
    ILogger<MessageProcessor> logger) : ClaimLoop<ClaimedHead>(signal, worker, logger)
{
    private long nextQueueDepthRefresh;

    protected override ClaimLoopSettings Settings { get; } = new("messages", options.Value.MaxConcurrency, options.Value.BatchSize,
        options.Value.PollInterval, options.Value.ShutdownGrace, options.Value.ReconnectBaseDelay, options.Value.ReconnectMaxDelay,
        MaxInFlight: options.Value.MaxRunsInFlight);

    // The last agent claimed: the next claim's scan starts after it, so the agents with work are served in turn.
    private int afterAgent;

    protected override async Task<IReadOnlyList<ClaimedHead>> ClaimAsync(int count, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var claim = await MessageTable.ClaimInboundAsync(connection, LeaseOwner, options.Value.LeaseDuration, count, afterAgent,
            cancellationToken);
        var claimed = claim.Heads;
        if (claim.Wrapped && afterAgent > 0)
        {
            // The scan ran off the last agent: the rest of the batch comes from the first ones.
            var more = await MessageTable.ClaimInboundAsync(connection, LeaseOwner, options.Value.LeaseDuration, count - claimed.Count, 0,
                cancellationToken);
            claimed = [.. claimed, .. more.Heads];
            afterAgent = more.Heads.Count > 0 ? more.Heads.Max(head => head.Message.AgentId) : 0;
        }
        else
        {
            afterAgent = claim.Wrapped ? 0 : claimed.Count > 0 ? claimed.Max(head => head.Message.AgentId) : afterAgent;
        }

        return claimed;
    }

    // A run that awaits its model holds no slot: slots bound CPU work (see ClaimLoop).
    protected override bool HoldsSlot(ClaimedHead item) => !behaviors.For(item.AgentConfig).Awaits;

    protected override Task HandleAsync(ClaimedHead item, CancellationToken cancellationToken) =>
        handler.HandleAsync(item, cancellationToken);

    // The gauge reads a number the loop keeps fresh, so scrapes never reach the database.
    protected override async Task BeforeClaimAsync(CancellationToken cancellationToken)
    {
        var now = Stopwatch.GetTimestamp();
        if (now < nextQueueDepthRefresh)
        {
            return;
        }

        nextQueueDepthRefresh = now + (long)(options.Value.QueueDepthRefreshInterval.TotalSeconds * Stopwatch.Frequency);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        metrics.SetQueueDepth(await MessageTable.CountPendingInboundAsync(connection, cancellationToken));
    }
}
