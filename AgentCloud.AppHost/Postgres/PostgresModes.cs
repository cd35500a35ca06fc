using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentCloud.AppHost.Postgres;

public enum PostgresMode
{
    Auto,
    Container,
    Local,
    External,
}

public static class PostgresModes
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    public const string PublishedDataVolume = "agentcloud-postgres-data";

    /// <summary>
    /// Adds the <c>agentsdb</c> database, served as <c>Postgres:Mode</c> says: an Aspire container,
    /// a server run from the local binaries, or an external connection string (auto picks one).
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddAgentsDatabase(this IDistributedApplicationBuilder builder)
    {
        var (mode, reason, binDirectory) = ChooseMode(builder);
        builder.Eventing.Subscribe<BeforeStartEvent>((e, _) =>
        {
            var logger = e.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(PostgresModes));
            logger.Log(reason.StartsWith("WARNING", StringComparison.Ordinal) ? LogLevel.Warning : LogLevel.Information,
                "PostgreSQL mode: {Mode} ({Reason})", mode.ToString().ToLowerInvariant(), reason);
            return Task.CompletedTask;
        });

        switch (mode)
        {
            case PostgresMode.External:
                if (builder.ExecutionContext.IsRunMode
                    && string.IsNullOrEmpty(builder.Configuration[$"ConnectionStrings:{ResourceNames.Database}"]))
                {
                    // Else the orchestrator waits forever on an unresolved parameter.
                    throw new ConfigurationProblem(
                        $"Postgres:Mode=external needs the connection string ConnectionStrings:{ResourceNames.Database} " +
                        $"(environment variable ConnectionStrings__{ResourceNames.Database}).");
                }
                return builder.AddConnectionString(ResourceNames.Database);
            case PostgresMode.Local:
                return builder.AddLocalPostgres(ResourceNames.Postgres, binDirectory!)
                    .AddDatabase(ResourceNames.Database);
            default:
                // Published, the password has no generated default (azd asks for it) and the data lives on a
                // named volume, so a restarted or redeployed container keeps its databases.
                var password = builder.ExecutionContext.IsPublishMode
                    ? builder.AddGeneratedSecret($"{ResourceNames.Postgres}-password")
                    : null;
                var postgres = builder.AddPostgres(ResourceNames.Postgres, password: password);
                // A name that does not depend on where the AppHost was cloned, so every deployment from
                // any machine mounts the same volume.
                postgres.WithDataVolume(builder.ExecutionContext.IsPublishMode ? PublishedDataVolume : null);
                return postgres.AddDatabase(ResourceNames.Database);
        }
    }

    private static (PostgresMode Mode, string Reason, string? BinDirectory) ChooseMode(IDistributedApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var configured = configuration["Postgres:Mode"] is { Length: > 0 } value
            ? Enum.TryParse<PostgresMode>(value, ignoreCase: true, out var parsed)
                ? parsed
                : throw new ConfigurationProblem(
                    $"Postgres:Mode '{value}' is not one of auto, container, local, external (environment variable Postgres__Mode).")
            : PostgresMode.Auto;

        switch (configured)
        {
            case PostgresMode.Container:
                return (configured, "Postgres:Mode=container", null);
            case PostgresMode.External:
                return (configured, "Postgres:Mode=external, ConnectionStrings:agentsdb", null);
            case PostgresMode.Local:
                return (configured, "Postgres:Mode=local", FindBinDirectory(configuration)
                    ?? throw new ConfigurationProblem(
                        "Postgres:Mode=local but no PostgreSQL server binaries were found: set Postgres:BinDirectory."));
        }

        if (builder.ExecutionContext.IsPublishMode)
        {
            return (PostgresMode.Container, "publish mode: the manifest needs a deployable PostgreSQL", null);
        }
        if (!string.IsNullOrEmpty(configuration[$"ConnectionStrings:{ResourceNames.Database}"]))
        {
            return (PostgresMode.External, $"ConnectionStrings:{ResourceNames.Database} is set", null);
        }
        if (FindContainerRuntime(configuration) is { } runtime)
        {
            return (PostgresMode.Container, $"container runtime '{runtime}' answers", null);
        }
        if (FindBinDirectory(configuration) is { } binDirectory)
        {
            return (PostgresMode.Local, $"no container runtime; local binaries in {binDirectory}", binDirectory);
        }
        return (PostgresMode.Container,
            "WARNING: no container runtime answers and no local PostgreSQL binaries were found; " +
            "the postgres container will not start until a container runtime is available", null);
    }

    private static string? FindContainerRuntime(IConfiguration configuration)
    {
        var configured = configuration["ASPIRE_CONTAINER_RUNTIME"] ?? configuration["DOTNET_ASPIRE_CONTAINER_RUNTIME"];
        string[] candidates = configured is { Length: > 0 } ? [configured] : ["docker", "podman"];
        foreach (var runtime in candidates)
        {
            if (ProcessRunner.TryRun(runtime, ["info"], ProbeTimeout) is { ExitCode: 0 })
            {
                if (configured is null && runtime != "docker")
                {
                    // The orchestrator defaults to docker: tell it which runtime answered.
                    configuration["ASPIRE_CONTAINER_RUNTIME"] = runtime;
                }
                return runtime;
            }
        }
        return null;
    }

    /// <summary>Postgres:BinDirectory, else pg_config --bindir, else the newest /usr/lib/postgresql/*/bin.</summary>
    private static string? FindBinDirectory(IConfiguration configuration)
    {
        if (configuration["Postgres:BinDirectory"] is { Length: > 0 } configured)
        {
            return HasServerBinaries(configured) ? configured : null;
        }
        if (ProcessRunner.TryRun("pg_config", ["--bindir"], ProbeTimeout) is { ExitCode: 0 } pgConfig
            && pgConfig.Output.Trim() is var bindir && HasServerBinaries(bindir))
        {
            return bindir;
        }
        const string debianRoot = "/usr/lib/postgresql";
        if (!Directory.Exists(debianRoot))
        {
            return null;
        }
        return Directory.EnumerateDirectories(debianRoot)
            .Select(dir => (Version: decimal.TryParse(Path.GetFileName(dir), out var v) ? v : -1, Bin: Path.Combine(dir, "bin")))
            .Where(x => x.Version >= 0 && HasServerBinaries(x.Bin))
            .OrderByDescending(x => x.Version)
            .Select(x => x.Bin)
            .FirstOrDefault();
    }

    private static bool HasServerBinaries(string directory) =>
        File.Exists(Path.Combine(directory, "postgres")) && File.Exists(Path.Combine(directory, "initdb"));
}
