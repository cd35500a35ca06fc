using System.Data;
using System.Diagnostics;
using AgentCloud.Shared.Hosting;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AgentCloud.DbMigrator;

/// <summary>
/// Applies the pending migrations once, under an advisory lock, then stops the host: exit code 0 when
/// the database is up to date, 1 when anything went wrong (the failing migration is rolled back).
/// </summary>
public sealed class Migrator(
    NpgsqlDataSource dataSource,
    IOptions<MigratorOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<Migrator> logger) : BackgroundService
{
    public const string ActivitySourceName = "AgentCloud.DbMigrator";

    // "AgentCld" in ASCII. Any fixed number works, as long as every migrator uses the same one.
    private const long AdvisoryLockKey = 0x4167_656E_7443_6C64;

    private static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var activity = ActivitySource.StartActivity("Migrate database");
        try
        {
            var migrations = Migration.LoadEmbedded();
            var applied = await MigrateAsync(migrations, stoppingToken);
            activity?.SetTag("migrations.applied", applied);
        }
        catch (Exception exception)
        {
            activity?.AddException(exception);
            activity?.SetStatus(ActivityStatusCode.Error, exception.Message);
            logger.LogCritical(exception,
                "Database migration failed; a migration commits as a whole or not at all, so none is left half-applied");
            Environment.ExitCode = 1;
        }
        finally
        {
            lifetime.StopApplication();
        }
    }

    private async Task<int> MigrateAsync(IReadOnlyList<Migration> migrations, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenWhenDatabaseIsUpAsync(options.Value.ConnectTimeout, logger, cancellationToken);
        await AcquireLockAsync(connection, cancellationToken);
        try
        {
            await EnsureHistoryTableAsync(connection, cancellationToken);
            var history = await ReadHistoryAsync(connection, cancellationToken);
            CheckAppliedMigrationsAreUnchanged(migrations, history);

            var pending = migrations.Where(migration => !history.ContainsKey(migration.Version)).ToList();
            if (pending.Count == 0)
            {
                logger.LogInformation("The database is up to date (version {Version})", history.Keys.DefaultIfEmpty(0).Max());
                return 0;
            }

            foreach (var migration in pending)
            {
                await ApplyAsync(connection, migration, cancellationToken);
            }

            logger.LogInformation("Applied {Count} migration(s); the database is at version {Version}", pending.Count, pending[^1].Version);
            return pending.Count;
        }
        finally
        {
            // Also released when the session ends (a broken connection has no lock left to release);
            // unlocking explicitly keeps a pooled session clean.
            if (connection.FullState == ConnectionState.Open)
            {
                await connection.ExecuteAsync("SELECT pg_advisory_unlock(@AdvisoryLockKey)", new { AdvisoryLockKey });
            }
        }
    }

    private async Task AcquireLockAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        if (await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT pg_try_advisory_lock(@AdvisoryLockKey)", new { AdvisoryLockKey }, cancellationToken: cancellationToken)))
        {
            return;
        }

        logger.LogInformation("Another migrator is running; waiting for it to finish");
        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_lock(@AdvisoryLockKey)", new { AdvisoryLockKey },
            commandTimeout: (int)options.Value.LockTimeout.TotalSeconds, cancellationToken: cancellationToken));
    }

    private static Task EnsureHistoryTableAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    INT PRIMARY KEY,
                name       TEXT NOT NULL,
                checksum   TEXT NOT NULL,
                applied_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
            )
            """, cancellationToken: cancellationToken));

    private static async Task<Dictionary<int, AppliedMigration>>
        ReadHistoryAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<AppliedMigration>(new CommandDefinition(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY version", cancellationToken: cancellationToken));
        return rows.ToDictionary(row => row.Version);
    }

    private void CheckAppliedMigrationsAreUnchanged(IReadOnlyList<Migration> migrations, Dictionary<int, AppliedMigration> history)
    {
        var changed = migrations
            .Where(migration => history.TryGetValue(migration.Version, out var applied) && applied.Checksum != migration.Checksum)
            .ToList();
        if (changed.Count > 0)
        {
            throw new InvalidOperationException(
                $"Already applied migration(s) {string.Join(", ", changed)} changed since they were applied. "
                + "Never edit an applied migration: restore it and add a new one.");
        }

        var known = migrations.Select(migration => migration.Version).ToHashSet();
        foreach (var unknown in history.Values.Where(applied => !known.Contains(applied.Version)))
        {
            logger.LogWarning("The database has migration {Version:D4}_{Name}, which this migrator does not know (a newer version " +
                "applied it)",
                unknown.Version, unknown.Name);
        }
    }

    private async Task ApplyAsync(NpgsqlConnection connection, Migration migration, CancellationToken cancellationToken)
    {
        using var activity = ActivitySource.StartActivity($"Apply migration {migration}");
        var started = Stopwatch.GetTimestamp();

        // The migration and its history row commit together, or neither does.
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(migration.Sql, transaction: transaction,
                commandTimeout: (int)options.Value.MigrationTimeout.TotalSeconds, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (@Version, @Name, @Checksum)",
                new { migration.Version, migration.Name, migration.Checksum }, transaction, cancellationToken: cancellationToken));
            await transaction.CommitAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            throw new InvalidOperationException($"Migration {migration} failed and was rolled back: {exception.Message}", exception);
        }

        logger.LogInformation("Applied migration {Migration} in {Elapsed:F0} ms", migration.ToString(),
            Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private sealed record AppliedMigration(int Version, string Name, string Checksum);
}
