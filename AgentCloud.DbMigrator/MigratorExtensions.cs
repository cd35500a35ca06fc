using AgentCloud.Shared.Hosting;

namespace AgentCloud.DbMigrator;

public static class MigratorExtensions
{
    /// <summary>The database, the migrator's options and the migrator itself.</summary>
    public static HostApplicationBuilder AddDbMigrator(this HostApplicationBuilder builder)
    {
        builder.AddAgentCloudConfiguration();
        builder.AddAgentCloudDatabase();
        builder.Services.AddOptions<MigratorOptions>().BindConfiguration(MigratorOptions.SectionName);
        builder.Services.AddHostedService<Migrator>();
        return builder;
    }
}
