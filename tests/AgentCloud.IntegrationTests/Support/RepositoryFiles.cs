using System.Diagnostics;

namespace AgentCloud.IntegrationTests;

/// <summary>Files of the repository the tests read (README, npm tools) and programs they run.</summary>
public static class RepositoryFiles
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>The AppHost's project folder (Aspire gives the project's path: the folder or its .csproj).</summary>
    public static string AppHostDirectory { get; } = Directory.Exists(Projects.AgentCloud_AppHost.ProjectPath)
        ? Projects.AgentCloud_AppHost.ProjectPath
        : Path.GetDirectoryName(Projects.AgentCloud_AppHost.ProjectPath)!;

    /// <summary>The AppHost's built program, as <c>dotnet build</c> left it for this test run.</summary>
    public static string AppHostDll()
    {
        var projectDirectory = AppHostDirectory;
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}")
            ? "Release" : "Debug";
        return Path.Combine(projectDirectory, "bin", configuration, "net10.0", "AgentCloud.AppHost.dll");
    }

    /// <summary>Runs a program to its end or kills it at <paramref name="timeout"/>; stdout and stderr together.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string fileName, IEnumerable<string> arguments,
        TimeSpan timeout, IDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(fileName, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Root,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        using var process = Process.Start(start)!;
        using var cancel = new CancellationTokenSource(timeout);
        var stdout = process.StandardOutput.ReadToEndAsync(cancel.Token);
        var stderr = process.StandardError.ReadToEndAsync(cancel.Token);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish within {timeout}.");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "AgentCloud.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No AgentCloud.sln above {AppContext.BaseDirectory}.");
    }
}
