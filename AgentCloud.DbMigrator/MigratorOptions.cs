namespace AgentCloud.DbMigrator;

/// <summary>Tunables of the migrator, bound from the <c>Migrator</c> configuration section.</summary>
public sealed class MigratorOptions
{
    public const string SectionName = "Migrator";

    /// <summary>How long to keep trying while PostgreSQL does not accept connections yet.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long to wait for another migrator to finish before giving up.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The longest one migration may run.</summary>
    public TimeSpan MigrationTimeout { get; set; } = TimeSpan.FromMinutes(10);
}
