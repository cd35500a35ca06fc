using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Npgsql;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace AgentCloud.Shared.Hosting;

public static class DatabaseStartup
{
    /// <summary>
    /// Opens a connection, retrying for at most <paramref name="timeout"/>: a process may start before
    /// PostgreSQL accepts connections, or before the orchestrator has created the database.
    /// </summary>
    public static async Task<NpgsqlConnection> OpenWhenDatabaseIsUpAsync(this NpgsqlDataSource dataSource, TimeSpan timeout,
        ILogger logger, CancellationToken cancellationToken)
    {
        var pipeline = new ResiliencePipelineBuilder()
            .AddTimeout(timeout)
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<NpgsqlException>(IsWorthRetrying).Handle<SocketException>(),
                MaxRetryAttempts = int.MaxValue,
                Delay = TimeSpan.FromSeconds(1),
                BackoffType = DelayBackoffType.Constant,
                OnRetry = retry =>
                {
                    logger.LogInformation("The database is not reachable yet ({Reason}); retrying", retry.Outcome.Exception?.Message);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();

        try
        {
            return await pipeline.ExecuteAsync(async token => await dataSource.OpenConnectionAsync(token), cancellationToken);
        }
        catch (TimeoutRejectedException exception)
        {
            throw new InvalidOperationException($"PostgreSQL did not accept connections within {timeout.TotalSeconds:F0} s.", exception);
        }
    }

    // Wrong credentials will not fix themselves: fail at once.
    private static bool IsWorthRetrying(NpgsqlException exception) =>
        exception is not PostgresException { SqlState: "28P01" or "28000" };
}
