using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace AgentCloud.AppHost.Postgres;

/// <summary>
/// The files and OS user of a local PostgreSQL server: <c>{BaseDirectory}/data</c> holds the cluster,
/// <c>{BaseDirectory}/run</c> its unix socket.
/// </summary>
public sealed class LocalPostgresCluster
{
    private const string EphemeralPrefix = "agentcloud-pg-";
    private const string OwnerFileName = "apphost.pid";
    private const string OsUser = "postgres";

    public required string BinDirectory { get; init; }

    public required string BaseDirectory { get; init; }

    public required bool Ephemeral { get; init; }

    /// <summary>The server's max_connections, which the AppHost's <see cref="ConnectionBudget"/> shares out.</summary>
    public int MaxConnections { get; init; } = ConnectionBudget.DefaultMaxConnections;

    /// <summary>PostgreSQL refuses to run as root, so as root it runs as the postgres OS user.</summary>
    public bool RunAsPostgresUser { get; } = Environment.IsPrivilegedProcess;

    public string DataDirectory => Path.Combine(BaseDirectory, "data");

    public string SocketDirectory => Path.Combine(BaseDirectory, "run");

    public static LocalPostgresCluster Create(IConfiguration configuration, string appHostDirectory, string binDirectory)
    {
        var ephemeral = configuration.GetValue("Postgres:Ephemeral", false);
        var baseDirectory = ephemeral
            // /tmp rather than TMPDIR: the postgres user must be able to traverse every parent.
            ? Path.Combine("/tmp", EphemeralPrefix + Guid.NewGuid().ToString("N"))
            : configuration["Postgres:DataDirectory"] is { Length: > 0 } configured
                ? Path.GetFullPath(configured)
                : DefaultPersistentDirectory(appHostDirectory);
        return new()
        {
            BinDirectory = binDirectory, BaseDirectory = baseDirectory, Ephemeral = ephemeral,
            MaxConnections = ConnectionBudget.From(configuration).MaxConnections,
        };
    }

    /// <summary>The postgres server command line, after the optional switch to the postgres user.</summary>
    public string[] ServerArguments =>
    [
        "-D", DataDirectory,
        "-c", "listen_addresses=127.0.0.1",
        "-c", $"unix_socket_directories={SocketDirectory}",
        "-c", $"max_connections={MaxConnections}",
    ];

    /// <summary>
    /// postgres answers SIGTERM with a "smart" shutdown that waits for every client to disconnect;
    /// with the services' pools connected, the orchestrator's stop then ends in SIGKILL and orphaned
    /// backends. This shell turns the orchestrator's SIGTERM (and SIGINT) into postgres's fast shutdown:
    /// sessions are ended, the data is flushed, the server exits.
    /// </summary>
    private const string FastShutdownShim =
        """
        "$@" & pid=$!
        trap 'kill -INT "$pid" 2>/dev/null' TERM INT
        while :; do
            wait "$pid"; status=$?
            kill -0 "$pid" 2>/dev/null || exit "$status"
        done
        """;

    public string ServerCommand => RunAsPostgresUser ? "setpriv" : "/bin/sh";

    public string[] ServerCommandPrefix =>
    [
        .. RunAsPostgresUser ? (string[])[.. SetPrivArguments, "/bin/sh"] : [],
        "-c", FastShutdownShim, "postgres-fast-shutdown", Binary("postgres"),
    ];

    /// <summary>Creates the cluster on first use and (re)applies the password, before the server starts.</summary>
    public async Task PrepareAsync(string password, ILogger logger, CancellationToken cancellationToken)
    {
        if (Ephemeral)
        {
            RemoveStaleEphemeralClusters(logger);
        }
        await CreateOwnedDirectoryAsync(BaseDirectory, cancellationToken);
        await CreateOwnedDirectoryAsync(SocketDirectory, cancellationToken);
        if (Ephemeral)
        {
            await File.WriteAllTextAsync(
                Path.Combine(BaseDirectory, OwnerFileName), Environment.ProcessId.ToString(), cancellationToken);
        }

        if (!File.Exists(Path.Combine(DataDirectory, "PG_VERSION")))
        {
            logger.LogInformation("Creating a PostgreSQL cluster in {DataDirectory}", DataDirectory);
            await RunAsOwnerAsync(
                "initdb",
                ["-D", DataDirectory, "-U", OsUser, "-E", "UTF8", "--no-locale",
                 "--auth-local=peer", "--auth-host=scram-sha-256"],
                input: null, secret: null, cancellationToken);
        }

        // Single-user mode sets the password without a running server; initdb --pwfile=/dev/stdin
        // cannot read a root-owned pipe once it runs as the postgres user.
        var quoted = password.Replace("'", "''");
        await RunAsOwnerAsync(
            "postgres",
            ["--single", "-D", DataDirectory, "-c", "password_encryption=scram-sha-256", "postgres"],
            input: $"ALTER ROLE {OsUser} WITH PASSWORD '{quoted}';\n", secret: password, cancellationToken);
        logger.LogInformation("PostgreSQL cluster ready in {DataDirectory}", DataDirectory);
    }

    /// <summary>Removes an ephemeral cluster once its server has stopped.</summary>
    public void RemoveIfEphemeral(ILogger logger)
    {
        if (!Ephemeral || !Directory.Exists(BaseDirectory))
        {
            return;
        }
        var pid = PostmasterPid(BaseDirectory);
        if (!WaitForExit(pid, TimeSpan.FromSeconds(15)))
        {
            // Fast shutdown: the orchestrator did not stop it in time.
            ProcessRunner.TryRun("kill", ["-INT", pid.ToString()], TimeSpan.FromSeconds(5));
            WaitForExit(pid, TimeSpan.FromSeconds(15));
        }
        TryDelete(BaseDirectory, logger);
    }

    private static bool WaitForExit(int pid, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (ProcessRunner.IsAlive(pid))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            Thread.Sleep(200);
        }
        return true;
    }

    private void RemoveStaleEphemeralClusters(ILogger logger)
    {
        foreach (var directory in Directory.EnumerateDirectories("/tmp", EphemeralPrefix + "*"))
        {
            if (directory == BaseDirectory || ProcessRunner.IsAlive(PostmasterPid(directory)))
            {
                continue;
            }
            var ownerFile = Path.Combine(directory, OwnerFileName);
            var stale = File.Exists(ownerFile)
                ? !(int.TryParse(File.ReadAllText(ownerFile), out var owner) && ProcessRunner.IsAlive(owner))
                // Without an owner file it may be another AppHost that is just starting.
                : Directory.GetLastWriteTimeUtc(directory) < DateTime.UtcNow.AddMinutes(-10);
            if (stale)
            {
                logger.LogInformation("Removing the stale PostgreSQL cluster {Directory}", directory);
                TryDelete(directory, logger);
            }
        }
    }

    private static int PostmasterPid(string baseDirectory)
    {
        try
        {
            var lockFile = Path.Combine(baseDirectory, "data", "postmaster.pid");
            return File.Exists(lockFile) && int.TryParse(File.ReadLines(lockFile).FirstOrDefault(), out var pid) ? pid : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static void TryDelete(string directory, ILogger logger)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning(ex, "Could not remove {Directory}", directory);
        }
    }

    private static string DefaultPersistentDirectory(string appHostDirectory)
    {
        // One cluster per AppHost checkout, so two clones never share (or fight over) one.
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(appHostDirectory)))[..12];
        if (Environment.IsPrivilegedProcess)
        {
            // Not under /root: its home is closed to the postgres user.
            return Path.Combine("/var/lib/agentcloud/postgres", key);
        }
        var dataHome = Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
        return Path.Combine(dataHome, "agentcloud", "postgres", key);
    }

    private async Task CreateOwnedDirectoryAsync(string directory, CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            return;
        }
        if (!RunAsPostgresUser)
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            return;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(directory)!);
        var result = await ProcessRunner.RunAsync(
            "install", ["-d", "-o", OsUser, "-g", OsUser, "-m", "0700", directory], "/", null, cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"Could not create {directory} for the {OsUser} user: {result.Output}");
        }
    }

    private async Task RunAsOwnerAsync(
        string binary, string[] arguments, string? input, string? secret, CancellationToken cancellationToken)
    {
        var (command, commandArguments) = RunAsPostgresUser
            ? ("setpriv", (string[])[.. SetPrivArguments, Binary(binary), .. arguments])
            : (Binary(binary), arguments);
        var result = await ProcessRunner.RunAsync(command, commandArguments, BaseDirectory, input, cancellationToken);
        // Single-user mode exits 0 even when a statement fails.
        if (result.ExitCode != 0 || result.Output.Contains("ERROR:") || result.Output.Contains("FATAL:"))
        {
            var output = secret is null ? result.Output : result.Output.Replace(secret, "***");
            throw new InvalidOperationException($"{binary} exited with code {result.ExitCode}: {output}");
        }
    }

    private string Binary(string name) => Path.Combine(BinDirectory, name);

    private static string[] SetPrivArguments => ["--reuid=" + OsUser, "--regid=" + OsUser, "--init-groups", "--"];
}
