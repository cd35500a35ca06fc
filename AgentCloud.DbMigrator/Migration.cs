using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace AgentCloud.DbMigrator;

/// <summary>One numbered SQL file from <c>Migrations/</c>, embedded in this assembly.</summary>
public sealed partial record Migration(int Version, string Name, string Sql, string Checksum)
{
    public override string ToString() => $"{Version:D4}_{Name}";

    /// <summary>All embedded migrations, in version order.</summary>
    public static IReadOnlyList<Migration> LoadEmbedded()
    {
        var assembly = typeof(Migration).Assembly;
        var migrations = assembly.GetManifestResourceNames()
            .Select(resource => (resource, match: FileName().Match(resource)))
            .Where(entry => entry.match.Success)
            .Select(entry => Create(
                int.Parse(entry.match.Groups["version"].Value),
                entry.match.Groups["name"].Value,
                Read(assembly, entry.resource)))
            .OrderBy(migration => migration.Version)
            .ToList();

        var duplicate = migrations.GroupBy(migration => migration.Version).FirstOrDefault(group => group.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException(
                $"Two migrations have version {duplicate.Key}: {string.Join(", ", duplicate)}.");
        }

        return migrations;
    }

    public static Migration Create(int version, string name, string sql)
    {
        // Line endings normalised so a Windows checkout (CRLF) has the same checksum as a Linux one.
        var normalised = sql.ReplaceLineEndings("\n");
        var checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalised)));
        return new Migration(version, name, normalised, checksum);
    }

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    [GeneratedRegex(@"\.Migrations\.(?<version>\d+)_(?<name>[^.]+)\.sql$")]
    private static partial Regex FileName();
}
