using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// One AppHost per test run: PostgreSQL from the local binaries in a fresh cluster, the migrator, the
/// API and the worker, all real processes. Secrets are fixed here so tests can forge tokens and
/// predict agent addresses.
/// </summary>
public sealed class AgentCloudFixture : IAsyncLifetime
{
    public const string JwtSecret = "integration-tests-jwt-secret-0123456789abcdefghijklmnop";
    public const string AgentSeed = "integration-tests-agent-seed-0123456789abcdefghijklmnop";

    public const int MaxAttempts = 3;

    /// <summary>Remote messages that may wait in one agent's inbox (<c>AgentWorker:Submit:MaxQueuedPerAgent</c>).</summary>
    public const int MaxQueuedPerAgent = 50;

    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Outbound deliveries: attempts before dead, and how long one POST may take.</summary>
    public const int OutboxMaxAttempts = 3;

    /// <summary>Callback deliveries (webhooks, A2A push): attempts before dead.</summary>
    public const int CallbackMaxAttempts = 3;

    /// <summary>Model calls one llm run may make here.</summary>
    public const int LlmMaxModelCalls = 4;

    /// <summary>Event streams one user may hold open here, low enough for a test to pass it.</summary>
    public const int StreamsPerUser = 6;

    /// <summary>How long one model call may take here before its attempt fails.</summary>
    public static readonly TimeSpan LlmModelCallTimeout = TimeSpan.FromSeconds(20);
    public static readonly TimeSpan OutboxAttemptTimeout = TimeSpan.FromSeconds(2);

    private readonly string endpointsDirectory = Directory.CreateTempSubdirectory("agentcloud-endpoints-").FullName;
    private readonly Dictionary<string, string> endpoints = [];
    private readonly SemaphoreSlim endpointsGate = new(1, 1);
    private DistributedApplication? app;
    private int nextClientAddress;

    /// <summary>The static endpoint map file (<c>UAgents:EndpointsFile</c>) the worker and the API watch.</summary>
    public string EndpointsFile => Path.Combine(endpointsDirectory, "endpoints.json");

    public DistributedApplication App => app ?? throw new InvalidOperationException("The AppHost is not started.");

    public string ConnectionString { get; private set; } = "";

    /// <summary>The OpenAI-compatible server standing in for the model provider (ConnectionStrings:llm of the API and worker).</summary>
    public ScriptedModelServer Models { get; } = new();

    /// <summary>An MCP server the worker offers llm agents as <c>kit</c>.</summary>
    public McpTestServer Mcp { get; } = new();

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        var ct = timeout.Token;

        await File.WriteAllTextAsync(EndpointsFile, "{}", ct);
        await Models.StartAsync();
        await Mcp.StartAsync();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AgentCloud_AppHost>(
            [
                "--Postgres:Ephemeral=true",
                $"--Parameters:jwt-secret-key={JwtSecret}",
                $"--Parameters:backend-agent-seed={AgentSeed}",
                $"--ConnectionStrings:llm={Models.ConnectionString}",
                $"--AgentCloud:Llm:McpServers:{McpTestServer.Name}:Url={Mcp.Url}",
                // Peers the tests host on loopback, registered at run time; the AppHost hands it to the API and the worker.
                $"--UAgents:EndpointsFile={EndpointsFile}",
            ],
            ct);

        // The testing builder points services at an OTLP endpoint nothing listens on; they then retry
        // at exit and stopping takes far longer. No exporter in tests.
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            builder.CreateResourceBuilder(project)
                .WithEnvironment("OTEL_EXPORTER_OTLP_ENDPOINT", "")
                // The "fail" behaviour, and retries fast enough to watch a message die within a test.
                .WithEnvironment("AgentCloud__EnableTestBehaviors", "true")
                .WithEnvironment("AgentWorker__Messaging__MaxAttempts", MaxAttempts.ToString())
                .WithEnvironment("AgentWorker__Messaging__RetryBaseDelay", "00:00:00.100")
                .WithEnvironment("AgentWorker__Messaging__RetryMaxDelay", "00:00:00.500")
                .WithEnvironment("AgentWorker__Messaging__LeaseDuration", "00:00:05")
                .WithEnvironment("AgentWorker__Messaging__PollInterval", "00:00:00.200")
                // Deliveries that fail die within seconds.
                .WithEnvironment("AgentWorker__Outbox__MaxAttempts", OutboxMaxAttempts.ToString())
                .WithEnvironment("AgentWorker__Outbox__AttemptTimeout", OutboxAttemptTimeout.ToString())
                .WithEnvironment("AgentWorker__Outbox__RetryBaseDelay", "00:00:00.200")
                .WithEnvironment("AgentWorker__Outbox__RetryMaxDelay", "00:00:00.500")
                .WithEnvironment("AgentWorker__Outbox__PollInterval", "00:00:00.200")
                // Callbacks (webhooks, A2A push) retried fast enough to watch within a test.
                .WithEnvironment("Callbacks__MaxAttempts", CallbackMaxAttempts.ToString())
                .WithEnvironment("Callbacks__AttemptTimeout", OutboxAttemptTimeout.ToString())
                .WithEnvironment("Callbacks__RetryBaseDelay", "00:00:00.200")
                .WithEnvironment("Callbacks__RetryMaxDelay", "00:00:00.500")
                .WithEnvironment("Callbacks__PollInterval", "00:00:00.200")
                // The fake peers and webhook receivers are on loopback, which a deployment refuses by default.
                .WithEnvironment("AgentWorker__Outbound__AllowedDestinations__0", "127.0.0.0/8")
                .WithEnvironment("AgentWorker__Outbound__AllowedDestinations__1", "::1")
                // A queue cap a test can reach (remote senders only; the owner's messages do not count).
                .WithEnvironment("AgentWorker__Submit__MaxQueuedPerAgent", MaxQueuedPerAgent.ToString())
                // The tests stand in for a reverse proxy on loopback: CreateApiClient's X-Forwarded-For is believed.
                .WithEnvironment("ForwardedHeaders__KnownNetworks__0", "127.0.0.0/8")
                .WithEnvironment("ForwardedHeaders__KnownNetworks__1", "::1/128")
                // Small run limits, so a test reaches one quickly.
                .WithEnvironment("AgentWorker__Llm__MaxModelCalls", LlmMaxModelCalls.ToString())
                .WithEnvironment("AgentWorker__Llm__MaxOutputTokens", "5000")
                .WithEnvironment("AgentWorker__Llm__ProviderRetries", "1")
                .WithEnvironment("AgentWorker__Llm__ModelCallTimeout", LlmModelCallTimeout.ToString())
                .WithEnvironment("Streams__MaxPerUser", StreamsPerUser.ToString())
                // Schedules a test can watch fire several times within seconds.
                .WithEnvironment("Quotas__ScheduleMinInterval", "00:00:01");
        }

        app = await builder.BuildAsync(ct);
        await app.StartAsync(ct);

        var notifications = app.Services.GetRequiredService<ResourceNotificationService>();
        await notifications.WaitForResourceAsync("db-migrator", KnownResourceStates.Finished, ct);
        await notifications.WaitForResourceHealthyAsync("api", ct);
        await notifications.WaitForResourceHealthyAsync("agent-worker", ct);

        ConnectionString = await app.GetConnectionStringAsync("agentsdb", ct)
            ?? throw new InvalidOperationException("agentsdb has no connection string.");
        AgentIdsDrawnAtStart = await WaitForBothWorkersThenCountAgentIdsAsync(ct);
    }

    /// <summary>
    /// How many values the agents' id sequence had given out once both worker replicas had made sure of
    /// the backend agent and before any test ran: 1 when the backend agent was created once and no id
    /// was burnt, so the first user agent is 2.
    /// </summary>
    public long AgentIdsDrawnAtStart { get; private set; }

    private async Task<long> WaitForBothWorkersThenCountAgentIdsAsync(CancellationToken ct)
    {
        await using var db = await OpenDatabaseAsync();
        while (await db.ExecuteScalarAsync<long>(new CommandDefinition(
            """
            SELECT count(*) FROM agent_logs l JOIN agents a ON a.id = l.agent_id
            WHERE a.user_id IS NULL AND l.message LIKE 'Agent worker started%'
            """, cancellationToken: ct)) < 2)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
        }

        return await db.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM agents_id_seq", cancellationToken: ct));
    }

    public async Task DisposeAsync()
    {
        try
        {
            Directory.Delete(endpointsDirectory, recursive: true);
        }
        catch (IOException)
        {
        }

        await Models.DisposeAsync();
        await Mcp.DisposeAsync();
        if (app is null)
        {
            return;
        }

        // The whole run's observations against the document: complete, so independent of test order.
        List<string> undocumented = [];
        try
        {
            using var client = new HttpClient { BaseAddress = App.GetEndpoint("api", "http"), Timeout = TimeSpan.FromSeconds(30) };
            undocumented = OpenApiCoverage.Undocumented(await OpenApiCoverage.FetchDocumentAsync(client), StatusRecorder.Observed);
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or Xunit.Sdk.XunitException)
        {
            // The API is already gone (a test stopped it): the test that checks as it goes still did.
        }

        using var timeout = new CancellationTokenSource(StopTimeout);
        try
        {
            await app.StopAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // Disposal below still tears the processes down.
        }

        await app.DisposeAsync();
        if (undocumented.Count > 0)
        {
            // xUnit shows a collection cleanup failure without its message: say what is missing on the console too.
            Console.WriteLine("[openapi] undocumented statuses:\n[openapi] " + string.Join("\n[openapi] ", undocumented));
            throw new Xunit.Sdk.XunitException(
                "The API answered statuses its OpenAPI document does not list:\n" + string.Join('\n', undocumented));
        }
    }

    /// <summary>
    /// A client of the API as one distinct caller: the API trusts X-Forwarded-For from loopback (as
    /// behind a local reverse proxy), so each client gets its own rate-limit partition.
    /// </summary>
    public HttpClient CreateApiClient()
    {
        // Every status the API answers is recorded, to be held against the OpenAPI document.
        var client = new HttpClient(new StatusRecorder()) { BaseAddress = App.GetEndpoint("api", "http") };
        client.Timeout = TimeSpan.FromSeconds(30);
        var n = Interlocked.Increment(ref nextClientAddress);
        client.DefaultRequestHeaders.Add("X-Forwarded-For", $"198.18.{n / 250}.{n % 250 + 1}");
        return client;
    }

    /// <summary>
    /// Adds <paramref name="address"/> → <paramref name="url"/> to the static endpoint map file (replaced whole,
    /// so no reader sees half of it) and gives the watching processes time to reload it.
    /// </summary>
    public async Task AddEndpointAsync(string address, string url)
    {
        await endpointsGate.WaitAsync();
        try
        {
            endpoints[address] = url;
            var temporary = EndpointsFile + ".tmp";
            await File.WriteAllTextAsync(temporary, System.Text.Json.JsonSerializer.Serialize(endpoints));
            File.Move(temporary, EndpointsFile, overwrite: true);
        }
        finally
        {
            endpointsGate.Release();
        }

        // The file watcher's notification plus the configuration's reload delay (250 ms).
        await Task.Delay(TimeSpan.FromSeconds(2));
    }

    public async Task<NpgsqlConnection> OpenDatabaseAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Runs the migrator's built program once more against <paramref name="connectionString"/>.</summary>
    public static async Task<(int ExitCode, string Output)> RunMigratorAsync(string connectionString, CancellationToken ct)
    {
        var projectDirectory = Path.GetDirectoryName(new Projects.AgentCloud_DbMigrator().ProjectPath)!;
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}")
            ? "Release" : "Debug";
        var dll = Path.Combine(projectDirectory, "bin", configuration, "net10.0", "AgentCloud.DbMigrator.dll");

        var start = new ProcessStartInfo("dotnet", [dll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = projectDirectory,
        };
        start.Environment["ConnectionStrings__agentsdb"] = connectionString;
        start.Environment["DOTNET_ENVIRONMENT"] = "Development";
        start.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = "";

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        try
        {
            await process.WaitForExitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}

[CollectionDefinition(Name)]
public sealed class AgentCloudCollection : ICollectionFixture<AgentCloudFixture>
{
    public const string Name = "AgentCloud";
}
