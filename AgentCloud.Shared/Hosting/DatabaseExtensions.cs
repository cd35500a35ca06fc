using System.Diagnostics;
using Dapper;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace AgentCloud.Shared.Hosting;

public static class DatabaseExtensions
{
    private const int DefaultConnectTimeoutSeconds = 15;
    private const int FailFastConnectTimeoutSeconds = 3;

    /// <summary>
    /// The one PostgreSQL data source of a service (Aspire.Npgsql: pooling, health check, traces and
    /// metrics). Sessions run in UTC because the original schema's columns are <c>TIMESTAMP</c> without
    /// time zone: every timestamp written or read is UTC wall time.
    /// </summary>
    /// <summary>The most connections this process's pool opens (overrides the connection string's Maximum Pool Size).</summary>
    public const string MaxPoolSizeKey = "Database:MaxPoolSize";

    /// <summary>
    /// A statement is traced only as part of a trace (a request, a handled message, the migration): polls,
    /// claims, pings and probes that run on their own would otherwise each be a one-span trace, and at idle
    /// they are all there is. A handled message's statements are children of its process span. Opening a
    /// physical connection is not traced at all: it happens whenever a pool grows, idle or not.
    /// </summary>
    public static void TraceOnlyWithinATrace(NpgsqlTracingOptionsBuilder tracing) => tracing
        .EnablePhysicalOpenTracing(false)
        .ConfigureCommandFilter(_ => Activity.Current is not null)
        .ConfigureBatchFilter(_ => Activity.Current is not null);

    public static TBuilder AddAgentCloudDatabase<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        builder.AddNpgsqlDataSource(ConfigurationExtensions.ConnectionName, configureDataSourceBuilder: dataSource =>
        {
            var connection = dataSource.ConnectionStringBuilder;
            connection.Timezone = "UTC";
            // Our transactions send no NOTIFY of their own: their wake-ups follow the commit (Wakeups, migration 0071).
            // A prepared statement (PreparedStatements) is planned once, as its text reads: each is written so that its generic plan
            // holds (docs/messaging.md, "Plans that hold under a flood"). Left to choose, PostgreSQL re-planned the claims on every
            // call because a custom plan's estimate looked cheaper: 1 to 2 ms of planning a claim.
            var settings = $"-c {Messaging.Wakeups.SessionSetting}=on -c plan_cache_mode=force_generic_plan";
            connection.Options = string.IsNullOrEmpty(connection.Options) ? settings : $"{connection.Options} {settings}";
            // A connection back in the pool keeps its session as it is: ours set nothing beyond a transaction (SET LOCAL,
            // set_config(…, true)) and LISTEN only on the hub's own data source, so Npgsql's reset would only cost a
            // round of statements per use, and with prepared statements on the connection it is several (PreparedStatements).
            connection.NoResetOnClose = true;
            // Npgsql waits 15 s for a connection by default. When the database is down (or a proxy in
            // front of it accepts and then stalls), callers should get a 503 in seconds, not hang.
            if (connection.Timeout == DefaultConnectTimeoutSeconds)
            {
                connection.Timeout = FailFastConnectTimeoutSeconds;
            }

            // Every process's total must fit the server's max_connections (the AppHost divides it up).
            if (builder.Configuration.GetValue<int?>(MaxPoolSizeKey) is { } maxPoolSize and > 0)
            {
                connection.MaxPoolSize = maxPoolSize;
            }

            dataSource.ConfigureTracing(TraceOnlyWithinATrace);
        });
        return builder;
    }
}
