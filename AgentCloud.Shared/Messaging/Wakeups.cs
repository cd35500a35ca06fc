using System.Globalization;
using System.Threading.Channels;
using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AgentCloud.Shared.Messaging;

/// <summary>
/// The NOTIFYs that announce a commit, sent just after it, in batches, from a transaction of their own that writes
/// nothing else and does not wait for the disk. Call <see cref="Post"/> (or a helper) once the commit returned.
/// </summary>
/// <remarks>
/// Why not inside the transaction, where NOTIFY belongs: a transaction that NOTIFYs holds PostgreSQL's one
/// notification-queue lock from its commit until that commit is flushed, so every notifying commit in the cluster
/// waits for the one before it and group commit never happens (pgbench, 32 clients, one-row inserts: 22,374 commits/s;
/// with a NOTIFY in each: 3,710; with the NOTIFY after the commit: 9,146, unbatched).
/// A wake-up is only a hint to re-read (see <see cref="NotificationHub"/>): one lost to a crash between a commit and
/// its wake-up costs a poll interval (the claim loops, the log tail) or a waiter's timeout, never a message.
/// Our connections say so to the database (<see cref="SessionSetting"/>), and the <c>agent_logs</c> trigger that
/// wakes log tails for anyone else's inserts then leaves the NOTIFY to us.
/// </remarks>
public sealed class Wakeups(NpgsqlDataSource dataSource, ILogger<Wakeups> logger) : BackgroundService
{
    /// <summary>Set on every pooled connection of our processes: their transactions send no NOTIFY of their own.</summary>
    public const string SessionSetting = "agentcloud.wakes_after_commit";

    private const int MaxBatch = 1_000;

    private readonly Channel<(string Channel, string Payload)> pending =
        Channel.CreateUnbounded<(string, string)>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>NOTIFY <paramref name="channel"/> with <paramref name="payload"/>, soon.</summary>
    public void Post(string channel, string payload) => pending.Writer.TryWrite((channel, payload));

    /// <summary>A message was queued: wakes the claim loop of its inbox or outbox.</summary>
    public void Queued(MessageRow message) =>
        Post(message.Direction == MessageDirection.Inbound ? NotifyChannels.Inbox : NotifyChannels.Outbox, Id(message.AgentId));

    /// <summary>A message reached done, dead or canceled: wakes its waiters and streams.</summary>
    public void Finished(Guid messageId) => Post(NotifyChannels.MessageFinished, messageId.ToString("D"));

    /// <summary>Lines were added to an agent's log: wakes its live tails.</summary>
    public void LogWritten(int agentId) => Post(NotifyChannels.AgentLogs, Id(agentId));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new HashSet<(string Channel, string Payload)>();
        // Drains until StopAsync completes the channel: wake-ups posted during shutdown still go out.
        while (await pending.Reader.WaitToReadAsync(CancellationToken.None))
        {
            while (batch.Count < MaxBatch && pending.Reader.TryRead(out var wake))
            {
                batch.Add(wake);
            }

            await SendAsync(batch);
            batch.Clear();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        pending.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    private async Task SendAsync(HashSet<(string Channel, string Payload)> batch)
    {
        var channels = batch.Select(wake => wake.Channel).ToArray();
        var payloads = batch.Select(wake => wake.Payload).ToArray();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // One round trip: the two statements are one implicit transaction, whose commit the setting spares the wait.
                await using var connection = await dataSource.OpenConnectionAsync();
                await connection.ExecuteAsync(
                    """
                    SELECT set_config('synchronous_commit', 'off', true);
                    SELECT pg_notify(c, p) FROM unnest(@channels::text[], @payloads::text[]) AS w(c, p);
                    """,
                    new { channels, payloads });
                return;
            }
            catch (Exception exception) when (attempt < 3)
            {
                logger.LogDebug("Sending {Count} wake-ups failed ({Reason}); trying again", batch.Count, exception.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt));
            }
            catch (Exception exception)
            {
                // Listeners re-read everything when their connection comes back; until then the polls cover it.
                logger.LogWarning("Could not send {Count} wake-ups ({Reason}); the claim loops' polls and the waiters' timeouts cover them",
                    batch.Count, exception.Message);
                return;
            }
        }
    }

    private static string Id(int id) => id.ToString(CultureInfo.InvariantCulture);
}
