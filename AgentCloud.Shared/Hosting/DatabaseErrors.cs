using Npgsql;

namespace AgentCloud.Shared.Hosting;

public static class DatabaseErrors
{
    /// <summary>
    /// A connection-level failure (refused, reset, timed out, the server shutting down or starting, too many
    /// clients): the caller may try again once PostgreSQL is back. Every door answers these with its own "retry".
    /// </summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
            || postgres.SqlState is "57P01" or "57P02" or "57P03" or "53300",
        NpgsqlException => true,
        TimeoutException => true,
        _ => exception.InnerException is { } inner && IsUnavailable(inner),
    };
}
