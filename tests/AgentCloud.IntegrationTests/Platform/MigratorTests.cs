using Dapper;
using Npgsql;

namespace AgentCloud.IntegrationTests;

[Collection(AgentCloudCollection.Name)]
public sealed class MigratorTests(AgentCloudFixture fixture)
{
    // Tables, columns, types, defaults and indexes: everything a migration could change.
    private const string SchemaFingerprintSql =
        """
        SELECT string_agg(line, E'\n' ORDER BY line) FROM (
            SELECT format('%s.%s %s %s %s', table_name, column_name, data_type, is_nullable, column_default) AS line
            FROM information_schema.columns WHERE table_schema = 'public'
            UNION ALL
            SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
            UNION ALL
            SELECT format('trigger %s on %s', tgname, tgrelid::regclass) FROM pg_trigger WHERE NOT tgisinternal
        ) AS schema
        """;

    [Fact]
    public async Task TheOriginalTablesExistColumnForColumn()
    {
        await using var db = await fixture.OpenDatabaseAsync();
        var columns = (await db.QueryAsync<(string Table, string Column, string Type, int? Length)>(
            """
            SELECT table_name, column_name, data_type, character_maximum_length
            FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name IN ('users', 'agents', 'agent_logs')
            """)).ToHashSet();

        (string, string, string, int?)[] original =
        [
            ("users", "id", "integer", null), ("users", "username", "character varying", 50),
            ("users", "email", "character varying", 100), ("users", "password_hash", "character varying", 256),
            ("users", "created_at", "timestamp without time zone", null), ("users", "updated_at", "timestamp without time zone", null),
            ("agents", "id", "integer", null), ("agents", "name", "character varying", 100), ("agents", "user_id", "integer", null),
            ("agents", "config", "jsonb", null), ("agents", "created_at", "timestamp without time zone", null),
            ("agents", "updated_at", "timestamp without time zone", null),
            ("agent_logs", "id", "integer", null), ("agent_logs", "agent_id", "integer", null),
            ("agent_logs", "log_level", "character varying", 20), ("agent_logs", "message", "text", null),
            ("agent_logs", "timestamp", "timestamp without time zone", null),
        ];
        Assert.All(original, column => Assert.Contains(column, columns));
        Assert.Contains(("agents", "address", "character varying", 65), columns);
    }

    [Fact]
    public async Task ASecondMigratorRunChangesNothing()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var before = await SnapshotAsync(fixture.ConnectionString);

        var (exitCode, output) = await AgentCloudFixture.RunMigratorAsync(fixture.ConnectionString, timeout.Token);

        Assert.True(exitCode == 0, output);
        Assert.Equal(before, await SnapshotAsync(fixture.ConnectionString));
    }

    [Fact]
    public async Task TwoMigratorsAtOnceOnAnEmptyDatabaseApplyEachMigrationOnce()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var database = $"race_{Guid.NewGuid():N}";
        await using (var db = await fixture.OpenDatabaseAsync())
        {
            await db.ExecuteAsync($"CREATE DATABASE {database}");
        }

        var target = new NpgsqlConnectionStringBuilder(fixture.ConnectionString) { Database = database, Pooling = false }.ConnectionString;
        try
        {
            var runs = await Task.WhenAll(
                AgentCloudFixture.RunMigratorAsync(target, timeout.Token),
                AgentCloudFixture.RunMigratorAsync(target, timeout.Token));

            Assert.All(runs, run => Assert.True(run.ExitCode == 0, run.Output));
            await using var raced = new NpgsqlConnection(target);
            var versions = (await raced.QueryAsync<int>("SELECT version FROM schema_migrations ORDER BY version")).ToList();
            Assert.NotEmpty(versions);
            Assert.Equal(versions.Distinct(), versions);
            await using var main = await fixture.OpenDatabaseAsync();
            Assert.Equal(
                await main.ExecuteScalarAsync<string>(SchemaFingerprintSql),
                await raced.ExecuteScalarAsync<string>(SchemaFingerprintSql));
        }
        finally
        {
            await using var db = await fixture.OpenDatabaseAsync();
            await db.ExecuteAsync($"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        }
    }

    [Fact]
    public async Task ADatabaseMigratedUnderOldFileNamesStaysValid()
    {
        // Migration files may be renamed (the history is keyed by version and checked by checksum): a database that
        // applied 0071 to 0076 under their first names is up to date for this migrator and keeps those names.
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var database = $"renamed_{Guid.NewGuid():N}";
        await using (var db = await fixture.OpenDatabaseAsync())
        {
            await db.ExecuteAsync($"CREATE DATABASE {database}");
        }

        var target = new NpgsqlConnectionStringBuilder(fixture.ConnectionString) { Database = database, Pooling = false }.ConnectionString;
        try
        {
            var first = await AgentCloudFixture.RunMigratorAsync(target, timeout.Token);
            Assert.True(first.ExitCode == 0, first.Output);
            await using (var migrated = new NpgsqlConnection(target))
            {
                Assert.Equal(7, await migrated.ExecuteAsync(
                    """
                    UPDATE schema_migrations SET name = old.name
                    FROM (VALUES (40, 'owner_lane'), (71, 'commits_that_do_not_take_turns'), (72, 'inbox_heads_in_one_probe'),
                                 (73, 'outbox_claims_in_one_index'), (74, 'echo_check_reads_only_what_was_sent'),
                                 (75, 'fence_that_fails_its_statement'), (76, 'inbox_pending_in_one_index')) AS old(version, name)
                    WHERE schema_migrations.version = old.version
                    """));
            }

            var before = await SnapshotAsync(target);
            var second = await AgentCloudFixture.RunMigratorAsync(target, timeout.Token);

            Assert.True(second.ExitCode == 0, second.Output);
            Assert.Contains("up to date", second.Output);
            Assert.Equal(before, await SnapshotAsync(target));
        }
        finally
        {
            await using var db = await fixture.OpenDatabaseAsync();
            await db.ExecuteAsync($"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        }
    }

    private static async Task<string> SnapshotAsync(string connectionString)
    {
        await using var db = new NpgsqlConnection(connectionString);
        var history = await db.QueryAsync<(int, string, DateTime)>(
            "SELECT version, checksum, applied_at FROM schema_migrations ORDER BY version");
        return string.Join('\n', history) + "\n" + await db.ExecuteScalarAsync<string>(SchemaFingerprintSql);
    }
}
