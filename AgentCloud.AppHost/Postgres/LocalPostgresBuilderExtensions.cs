using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AgentCloud.AppHost.Postgres;

public static class LocalPostgresBuilderExtensions
{
    /// <summary>
    /// Adds a PostgreSQL server that the AppHost runs from the local binaries in
    /// <paramref name="binDirectory"/>, on 127.0.0.1 and an orchestrator-allocated port.
    /// </summary>
    public static IResourceBuilder<LocalPostgresServerResource> AddLocalPostgres(
        this IDistributedApplicationBuilder builder, string name, string binDirectory)
    {
        var password = builder.AddParameter(
            $"{name}-password", new GenerateParameterDefault { MinLength = 32, Special = false },
            secret: true, persist: true);
        var cluster = LocalPostgresCluster.Create(builder.Configuration, builder.AppHostDirectory, binDirectory);
        var server = new LocalPostgresServerResource(name, cluster.ServerCommand, cluster, password.Resource);

        var healthCheckKey = $"{name}_check";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            healthCheckKey, _ => new NpgsqlSelectOneHealthCheck(server), failureStatus: null, tags: null));

        var serverBuilder = builder.AddResource(server)
            .WithArgs([.. cluster.ServerCommandPrefix, .. cluster.ServerArguments])
            // postgres reads its port from PGPORT.
            .WithEndpoint(targetPort: null, scheme: "tcp", name: LocalPostgresServerResource.EndpointName, env: "PGPORT")
            .WithHealthCheck(healthCheckKey)
            .OnBeforeResourceStarted(PrepareClusterAsync)
            .OnResourceReady(CreateMissingDatabasesAsync)
            .ExcludeFromManifest();
        password.WithParentRelationship(serverBuilder);
        return serverBuilder;
    }

    /// <summary>Adds a database that is created on the server when missing.</summary>
    public static IResourceBuilder<LocalPostgresDatabaseResource> AddDatabase(
        this IResourceBuilder<LocalPostgresServerResource> builder, string name, string? databaseName = null)
    {
        var database = new LocalPostgresDatabaseResource(name, databaseName ?? name, builder.Resource);
        builder.Resource.Databases[name] = database.DatabaseName;

        var healthCheckKey = $"{name}_check";
        builder.ApplicationBuilder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            healthCheckKey, _ => new NpgsqlSelectOneHealthCheck(database), failureStatus: null, tags: null));

        return builder.ApplicationBuilder.AddResource(database)
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "PostgresDatabase",
                State = KnownResourceStates.NotStarted,
                Properties = [new("postgres.database", database.DatabaseName)],
            })
            .WithHealthCheck(healthCheckKey)
            .OnInitializeResource((db, e, ct) =>
            {
                _ = MirrorParentStateAsync(db, e.Notifications, ct);
                return Task.CompletedTask;
            })
            .ExcludeFromManifest();
    }

    private static async Task PrepareClusterAsync(
        LocalPostgresServerResource server, BeforeResourceStartedEvent e, CancellationToken cancellationToken)
    {
        var logger = e.Services.GetRequiredService<ResourceLoggerService>().GetLogger(server);
        var cluster = server.Cluster;
        var password = await server.PasswordParameter.GetValueAsync(cancellationToken)
            ?? throw new InvalidOperationException($"Parameter {server.PasswordParameter.Name} has no value.");
        await cluster.PrepareAsync(password, logger, cancellationToken);
        if (cluster.Ephemeral)
        {
            var appLogger = e.Services.GetRequiredService<ILogger<LocalPostgresServerResource>>();
            e.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped
                .Register(() => cluster.RemoveIfEphemeral(appLogger));
        }
    }

    private static async Task CreateMissingDatabasesAsync(
        LocalPostgresServerResource server, ResourceReadyEvent e, CancellationToken cancellationToken)
    {
        var logger = e.Services.GetRequiredService<ResourceLoggerService>().GetLogger(server);
        var connectionString = await server.ConnectionStringExpression.GetValueAsync(cancellationToken);
        // Unpooled: this runs again after every restart of the server, when a pooled connection from
        // the previous start would be dead.
        var unpooled = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false };
        await using var connection = new NpgsqlConnection(unpooled.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        foreach (var databaseName in server.Databases.Values)
        {
            await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection)
            {
                Parameters = { new() { Value = databaseName } },
            };
            if (await exists.ExecuteScalarAsync(cancellationToken) is not null)
            {
                continue;
            }
            logger.LogInformation("Creating database {Database}", databaseName);
            var quoted = "\"" + databaseName.Replace("\"", "\"\"") + "\"";
            await using var create = new NpgsqlCommand($"CREATE DATABASE {quoted}", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>
    /// The orchestrator gives no state to children of non-container resources, so WaitFor(db) would
    /// wait forever: the database follows its server's lifecycle instead.
    /// </summary>
    private static async Task MirrorParentStateAsync(
        LocalPostgresDatabaseResource database, ResourceNotificationService notifications, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var update in notifications.WatchAsync(cancellationToken))
            {
                if (!ReferenceEquals(update.Resource, database.Parent))
                {
                    continue;
                }
                var parent = update.Snapshot;
                await notifications.PublishUpdateAsync(database, snapshot => snapshot with
                {
                    State = parent.State,
                    StartTimeStamp = parent.StartTimeStamp,
                    StopTimeStamp = parent.StopTimeStamp,
                    ExitCode = parent.ExitCode,
                });
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
