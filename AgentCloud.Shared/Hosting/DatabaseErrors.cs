using Npgsql;

namespace AgentCloud.Shared.Hosting;

public static class DatabaseErrors
{
    /// <summary>The database is down, refusing, out of connections or too slow: worth a retry, not a bug.</summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
            || postgres.SqlState is "57P01" or "57P02" or "57P03" or "53300",
        NpgsqlException => true,
        TimeoutException => true,
        _ => exception.InnerException is { } inner && IsUnavailable(inner),
    };
}
