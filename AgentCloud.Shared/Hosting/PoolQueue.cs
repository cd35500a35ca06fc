using Npgsql;

namespace AgentCloud.Shared.Hosting;

public static class PoolQueue
{
    /// <summary>How long a request may queue for a pooled connection during a burst.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A pooled connection, queuing for up to <see cref="Patience"/> when every one is in use. Npgsql gives
    /// up on a full pool after the connect timeout, which is short on purpose (a stalled server must
    /// show as a 503 in seconds); but a full pool only means a burst, and a burst should wait its turn
    /// rather than be refused. Any other failure (the server refuses, stalls or is gone) still fails at once.
    /// </summary>
    public static async ValueTask<NpgsqlConnection> OpenQueuedConnectionAsync(this NpgsqlDataSource dataSource,
        CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try
            {
                return await dataSource.OpenConnectionAsync(cancellationToken);
            }
            catch (NpgsqlException exception) when (IsPoolExhausted(exception) && DateTime.UtcNow < deadline
                && !cancellationToken.IsCancellationRequested)
            {
            }
        }
    }

    // Npgsql has no type for it: a timeout inside a NpgsqlException that names the pool.
    private static bool IsPoolExhausted(NpgsqlException exception) =>
        exception.InnerException is TimeoutException
        && exception.Message.Contains("connection pool has been exhausted", StringComparison.OrdinalIgnoreCase);
}
