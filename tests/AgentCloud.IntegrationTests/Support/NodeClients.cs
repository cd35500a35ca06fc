using System.Diagnostics;
using System.Text.Json.Nodes;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// Runs a script of tests/clients (reference clients from npm, installed by <c>npm ci</c> there) with Node
/// against the running system, and returns the JSON summary it prints last.
/// </summary>
public static class NodeClients
{
    /// <param name="node22">
    /// Run it with the Node 22 that the lock file's <c>node</c> package ships (clients that need it, such as ai 7), not the
    /// machine's own Node.
    /// </param>
    public static async Task<JsonObject> RunAsync(string script, IReadOnlyDictionary<string, string> environment, TimeSpan timeout,
        bool node22 = false)
    {
        var folder = Path.Combine(RepositoryRoot(), "tests", "clients");
        Assert.True(Directory.Exists(Path.Combine(folder, "node_modules")), $"Run 'npm ci' in {folder} first (.ci/run does).");
        var start = new ProcessStartInfo(node22 ? Path.Combine(folder, "node_modules", "node", "bin", "node") : "node", script)
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        using var cancel = new CancellationTokenSource(timeout);
        var output = process.StandardOutput.ReadToEndAsync(cancel.Token);
        var errors = process.StandardError.ReadToEndAsync(cancel.Token);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"node {script} did not finish within {timeout}.");
        }

        var stdout = await output;
        var stderr = await errors;
        Assert.True(process.ExitCode == 0, $"node {script} exited with {process.ExitCode}:\n{stderr}\n{stdout}");
        var last = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        return JsonNode.Parse(last)!.AsObject();
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "AgentCloud.sln")))
            {
                return folder.FullName;
            }
        }

        throw new DirectoryNotFoundException("AgentCloud.sln not found above the test binaries.");
    }
}
