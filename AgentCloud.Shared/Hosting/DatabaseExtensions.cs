using Dapper;
using Microsoft.Extensions.Hosting;

namespace AgentCloud.Shared.Hosting;

public static class DatabaseExtensions
{
    /// <summary>
    /// The one PostgreSQL data source of a service (Aspire.Npgsql: pooling, health check, traces and
    /// metrics). Sessions run in UTC because the original schema's columns are <c>TIMESTAMP</c> without
    /// time zone: every timestamp written or read is UTC wall time.
    /// </summary>
    public static TBuilder AddAgentCloudDatabase<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        builder.AddNpgsqlDataSource(ConfigurationExtensions.ConnectionName,
            configureDataSourceBuilder: dataSource => dataSource.ConnectionStringBuilder.Timezone = "UTC");
        return builder;
    }
}
