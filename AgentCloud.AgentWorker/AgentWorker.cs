using System.Diagnostics;
using AgentCloud.Shared.Data;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Hosting;
using AgentCloud.Shared.UAgents;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AgentCloud.AgentWorker;

/// <summary>
/// At start, makes sure the backend agent has its row and says so in its log. Messages are taken and
/// handled by <see cref="Messaging.MessageProcessor"/>, woken by its <see cref="Messaging.InboxSignal"/>.
/// </summary>
public sealed class AgentWorker(
    NpgsqlDataSource dataSource,
    BackendAgent backendAgent,
    IOptions<AgentWorkerOptions> options,
    IOptions<OutboundEndpointOptions> uagents,
    IHostApplicationLifetime lifetime,
    Wakeups wakeups,
    ILogger<AgentWorker> logger) : BackgroundService
{
    public const string ActivitySourceName = "AgentCloud.AgentWorker";

    private static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var activity = ActivitySource.StartActivity("Start agent worker");
        activity?.SetTag("agent.address", backendAgent.Address);
        try
        {
            await using var connection = await dataSource.OpenWhenDatabaseIsUpAsync(options.Value.DatabaseStartupTimeout, logger,
                stoppingToken);
            var agentId = await EnsureBackendAgentRowAsync(connection, stoppingToken);
            activity?.SetTag("agent.id", agentId);
            await BackfillAddressesAsync(connection, stoppingToken);

            var message = $"Agent worker started; backend agent address {backendAgent.Address}";
            await AgentLogs.WriteAsync(connection, agentId, LogLevels.Info, message, cancellationToken: stoppingToken);
            wakeups.LogWritten(agentId);
            logger.LogInformation("Agent worker started; backend agent address {Address} (agent {AgentId})", backendAgent.Address, agentId);
            if (uagents.Value.PublicUrl is { Length: > 0 } publicUrl)
            {
                logger.LogInformation("uAgents peers reach the agents hosted here at {PublicUrl}", publicUrl);
            }
            else
            {
                logger.LogWarning("UAgents:PublicUrl is not set: remote uAgents cannot be told where to reach our agents");
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception exception)
        {
            activity?.AddException(exception);
            activity?.SetStatus(ActivityStatusCode.Error, exception.Message);
            logger.LogCritical(exception, "The agent worker could not start");
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
    }

    /// <summary>
    /// Agents created before they had identities (rows from the original backend) get their address
    /// now. Idempotent: only NULL addresses are written, so replicas starting together agree.
    /// </summary>
    private async Task BackfillAddressesAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var missing = (await connection.QueryAsync<int>(new CommandDefinition(
            "SELECT id FROM agents WHERE address IS NULL AND user_id IS NOT NULL ORDER BY id",
            cancellationToken: cancellationToken))).AsList();
        if (missing.Count == 0)
        {
            return;
        }

        var addresses = missing.Select(id => backendAgent.AddressFor(id)).ToArray();
        var filled = await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE agents SET address = backfill.address
            FROM unnest(@ids, @addresses) AS backfill(id, address)
            WHERE agents.id = backfill.id AND agents.address IS NULL
            """,
            new { ids = missing.ToArray(), addresses }, cancellationToken: cancellationToken));
        logger.LogInformation("Gave {Count} existing agent(s) their uAgents address", filled);
    }

    /// <summary>
    /// Idempotent and safe when several replicas start at once, without burning ids: the replicas take
    /// turns under a transaction-scoped advisory lock and only the first finds no row and inserts. (An
    /// INSERT … ON CONFLICT DO NOTHING that loses still draws a sequence value, and the first user agent
    /// would then not be 2 on a fresh system.)
    /// </summary>
    private async Task<int> EnsureBackendAgentRowAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var agent = new { Name = BackendAgent.Name, backendAgent.Address, Lock = BackendAgentLockKey };
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(@Lock)", agent, transaction, cancellationToken: cancellationToken));
        var id = await MessageTable.FindLocalAgentAsync(connection, transaction, backendAgent.Address, cancellationToken);
        id ??= await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            "INSERT INTO agents (name, user_id, address) VALUES (@Name, NULL, @Address) RETURNING id",
            agent, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return id.Value;
    }

    // Any constant no other advisory lock in the system uses ("AgentCloud backend agent").
    private const long BackendAgentLockKey = 0x4167_436C_6F75_6401;
}
