namespace AgentCloud.AppHost.Postgres;

/// <summary>
/// A PostgreSQL server run by the AppHost from the locally installed binaries (no container engine).
/// </summary>
public sealed class LocalPostgresServerResource(
    string name, string command, LocalPostgresCluster cluster, ParameterResource password)
    : ExecutableResource(name, command, cluster.BaseDirectory), IResourceWithConnectionString
{
    public const string EndpointName = "tcp";
    public const string UserName = "postgres";

    public LocalPostgresCluster Cluster => cluster;

    public ParameterResource PasswordParameter => password;

    public EndpointReference PrimaryEndpoint => field ??= new(this, EndpointName);

    /// <summary>Database names (by resource name) that are created when missing.</summary>
    public Dictionary<string, string> Databases { get; } = [];

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host={PrimaryEndpoint.Property(EndpointProperty.Host)};Port={PrimaryEndpoint.Property(EndpointProperty.Port)};" +
        $"Username={UserName};Password={PasswordParameter}");
}

public sealed class LocalPostgresDatabaseResource(
    string name, string databaseName, LocalPostgresServerResource parent)
    : Resource(name), IResourceWithParent<LocalPostgresServerResource>, IResourceWithConnectionString
{
    public LocalPostgresServerResource Parent => parent;

    public string DatabaseName => databaseName;

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{Parent};Database={DatabaseName}");
}
