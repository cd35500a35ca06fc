using Microsoft.Extensions.Configuration;

namespace AgentCloud.AppHost.Postgres;

/// <summary>
/// Shares PostgreSQL's <c>max_connections</c> among the processes the AppHost starts, so that every
/// replica's pool together never meets "too many clients": past its pool, a process waits for a
/// connection of its own instead. <c>Postgres:MaxConnections</c> is the server's limit (the local server
/// is started with it; a container or external server is assumed to have PostgreSQL's default, 100).
/// </summary>
public sealed record ConnectionBudget(int MaxConnections)
{
    public const string MaxConnectionsKey = "Postgres:MaxConnections";
    public const int DefaultMaxConnections = 100;

    /// <summary>superuser_reserved_connections (3), and room for psql, the tests' own checks and a migrator rerun.</summary>
    public const int Reserved = 3 + 12;

    /// <summary>Each process's connection outside its pool: its notification hub's one LISTEN connection.</summary>
    public const int Listeners = 1;

    /// <summary>The API's share of what is left; the rest goes to the workers, evenly.</summary>
    private const double ApiShare = 0.4;

    public static ConnectionBudget From(IConfiguration configuration) =>
        new(configuration.GetValue(MaxConnectionsKey, DefaultMaxConnections));

    private int Usable => Math.Max(MaxConnections - Reserved, 8);

    /// <summary>The API's pool.</summary>
    public int ApiPool => Math.Max((int)(Usable * ApiShare) - Listeners, 4);

    /// <summary>Each worker replica's pool.</summary>
    public int WorkerPool(int replicas) => Math.Max((Usable - ApiPool - Listeners) / replicas - Listeners, 4);
}
