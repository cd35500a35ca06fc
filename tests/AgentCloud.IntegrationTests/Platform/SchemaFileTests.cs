using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// docs/schema.sql is the schema the migrations make today, as <c>pg_dump --schema-only</c> prints it for the
/// fixture's freshly migrated database (comments, settings and the dump's random <c>\restrict</c> key left out), so a
/// reader sees the schema without replaying the migrations and a change to it shows in review. Regenerate it with
/// <c>AGENTCLOUD_WRITE_SCHEMA=1 dotnet test tests/AgentCloud.IntegrationTests --filter FullyQualifiedName~SchemaFileTests</c>.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed partial class SchemaFileTests(AgentCloudFixture fixture)
{
    private const string Header =
        """
        -- The schema the migrations in AgentCloud.DbMigrator/Migrations make, as pg_dump --schema-only prints it
        -- (comments and settings left out). Generated: do not edit. SchemaFileTests fails when it is stale; regenerate with
        --   AGENTCLOUD_WRITE_SCHEMA=1 dotnet test tests/AgentCloud.IntegrationTests --filter FullyQualifiedName~SchemaFileTests

        """;

    [Fact]
    public async Task TheSchemaFileIsTheSchemaTheMigrationsMake()
    {
        var schema = Header + "\n" + await DumpSchemaAsync(fixture.ConnectionString);
        var path = RepositoryFiles.PathOf("docs", "schema.sql");
        if (Environment.GetEnvironmentVariable("AGENTCLOUD_WRITE_SCHEMA") == "1")
        {
            await File.WriteAllTextAsync(path, schema);
            return;
        }

        var written = File.Exists(path) ? await File.ReadAllTextAsync(path) : "";
        Assert.True(written == schema,
            $"docs/schema.sql is not the schema the migrations make ({FirstDifference(written, schema)}). Regenerate it: "
            + "AGENTCLOUD_WRITE_SCHEMA=1 dotnet test tests/AgentCloud.IntegrationTests --filter FullyQualifiedName~SchemaFileTests");
    }

    private static async Task<string> DumpSchemaAsync(string connectionString)
    {
        var connection = new NpgsqlConnectionStringBuilder(connectionString);
        var (exitCode, output) = await RepositoryFiles.RunAsync(
            "pg_dump",
            ["--schema-only", "--no-owner", "--no-privileges", "--no-tablespaces", "--schema=public"],
            TimeSpan.FromMinutes(1),
            new Dictionary<string, string?>
            {
                ["PGHOST"] = connection.Host,
                ["PGPORT"] = connection.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["PGUSER"] = connection.Username,
                ["PGPASSWORD"] = connection.Password,
                ["PGDATABASE"] = connection.Database,
            });
        Assert.True(exitCode == 0, $"pg_dump failed: {output}");
        return Normalize(output);
    }

    /// <summary>Drops what is not the migrations' schema (comments, SET lines, the search path, \restrict keys, the public
    /// schema itself) and runs of blank lines.</summary>
    private static string Normalize(string dump)
    {
        var kept = new StringBuilder();
        var blank = true;
        foreach (var line in dump.ReplaceLineEndings("\n").Split('\n'))
        {
            if (line.StartsWith("--", StringComparison.Ordinal) || line.StartsWith("SET ", StringComparison.Ordinal)
                || line.StartsWith('\\') || SearchPath().IsMatch(line) || PublicSchema().IsMatch(line))
            {
                continue;
            }

            if (line.Trim().Length == 0)
            {
                if (!blank)
                {
                    kept.Append('\n');
                }

                blank = true;
                continue;
            }

            kept.Append(line.TrimEnd()).Append('\n');
            blank = false;
        }

        return kept.ToString().TrimEnd('\n') + "\n";
    }

    private static string FirstDifference(string written, string schema)
    {
        var a = written.Split('\n');
        var b = schema.Split('\n');
        for (var i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            var left = i < a.Length ? a[i] : "(end of file)";
            var right = i < b.Length ? b[i] : "(end of schema)";
            if (left != right)
            {
                return $"line {i + 1}: the file has \"{left}\", the database \"{right}\"";
            }
        }

        return "they differ";
    }

    [GeneratedRegex(@"^SELECT pg_catalog\.set_config\('search_path'")]
    private static partial Regex SearchPath();

    // The public schema itself is no migration's: pg_dump --schema=public creates and comments it.
    [GeneratedRegex(@"^(CREATE SCHEMA public;|COMMENT ON SCHEMA public IS )")]
    private static partial Regex PublicSchema();
}
