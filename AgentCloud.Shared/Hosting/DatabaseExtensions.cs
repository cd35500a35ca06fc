using Dapper;
using Microsoft.Extensions.Hosting;

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
    public static TBuilder AddAgentCloudDatabase<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        builder.AddNpgsqlDataSource(ConfigurationExtensions.ConnectionName, configureDataSourceBuilder: dataSource =>
        {
            var connection = dataSource.ConnectionStringBuilder;
            connection.Timezone = "UTC";
            // Npgsql waits 15 s for a connection by default. When the database is down (or a proxy in
            // front of it accepts and then stalls), callers should get a 503 in seconds, not hang.
            if (connection.Timeout == DefaultConnectTimeoutSeconds)
            {
                connection.Timeout = FailFastConnectTimeoutSeconds;
            }
        });
        return builder;
    }
}
