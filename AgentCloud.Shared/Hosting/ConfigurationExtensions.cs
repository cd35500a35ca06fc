using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace AgentCloud.Shared.Hosting;

public static class ConfigurationExtensions
{
    public const string ConnectionName = "agentsdb";

    /// <summary>
    /// Makes the original design's configuration work for a service started on its own: a <c>.env</c>
    /// file in the working folder (below real environment variables, above appsettings), <c>DB_*</c>
    /// variables for the connection string when <c>ConnectionStrings:agentsdb</c> is not given, and
    /// <c>DEBUG</c> for verbose logging.
    /// </summary>
    public static TBuilder AddAgentCloudConfiguration<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var configuration = builder.Configuration;
        AddDotEnvFile(configuration, Path.Combine(Directory.GetCurrentDirectory(), ".env"));

        if (string.IsNullOrWhiteSpace(configuration.GetConnectionString(ConnectionName)))
        {
            configuration[$"ConnectionStrings:{ConnectionName}"] = ConnectionStringFromDbVariables(configuration);
        }

        if (IsTrue(configuration["DEBUG"]))
        {
            configuration["Logging:LogLevel:Default"] = "Debug";
        }

        return builder;
    }

    internal static string ConnectionStringFromDbVariables(IConfiguration configuration)
    {
        var connection = new NpgsqlConnectionStringBuilder
        {
            Host = configuration["DB_HOST"] ?? "localhost",
            Port = int.TryParse(configuration["DB_PORT"], out var port) ? port : 5432,
            Database = configuration["DB_NAME"] ?? "ai_agents_db",
            Username = configuration["DB_USER"] ?? "postgres",
        };
        var password = configuration["DB_PASSWORD"];
        if (!string.IsNullOrEmpty(password))
        {
            connection.Password = password;
        }

        return connection.ConnectionString;
    }

    internal static bool IsTrue(string? value) =>
        value is not null && (value.Equals("true", StringComparison.OrdinalIgnoreCase) || value == "1"
            || value.Equals("yes", StringComparison.OrdinalIgnoreCase));

    private static void AddDotEnvFile(IConfigurationManager configuration, string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        // NoEnvVars: read the file without touching the process environment, then slot it in just
        // below the environment-variable source so a real variable always wins over the file.
        var values = DotNetEnv.Env.NoEnvVars().NoClobber().Load(path)
            .GroupBy(pair => pair.Key)
            .ToDictionary(group => group.Key.Replace("__", ":"), group => (string?)group.Last().Value);

        var sources = configuration.Sources;
        var firstEnvironmentSource = sources.ToList().FindIndex(source => source is EnvironmentVariablesConfigurationSource);
        var dotEnvSource = new MemoryConfigurationSource { InitialData = values };
        if (firstEnvironmentSource < 0)
        {
            sources.Add(dotEnvSource);
        }
        else
        {
            sources.Insert(firstEnvironmentSource, dotEnvSource);
        }
    }
}
