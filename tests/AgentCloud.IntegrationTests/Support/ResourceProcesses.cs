using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCloud.IntegrationTests;

/// <summary>The AppHost's running processes, from the resource snapshots: to kill, restart and measure them.</summary>
public static class ResourceProcesses
{
    public sealed record Replica(string ResourceId, int Pid);

    /// <summary>The running replicas of <paramref name="resourceName"/> and their process ids.</summary>
    public static async Task<List<Replica>> RunningAsync(this AgentCloudFixture fixture, string resourceName)
    {
        var notifications = fixture.App.Services.GetRequiredService<ResourceNotificationService>();
        var replicas = new Dictionary<string, Replica>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            // WatchAsync replays the current state of every resource first, then waits for changes.
            await foreach (var change in notifications.WatchAsync(timeout.Token))
            {
                if (change.Resource.Name != resourceName)
                {
                    continue;
                }

                var pid = change.Snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value;
                if (change.Snapshot.State?.Text == KnownResourceStates.Running && pid is not null
                    && int.TryParse(pid.ToString(), out var value))
                {
                    replicas[change.ResourceId] = new Replica(change.ResourceId, value);
                }
                else
                {
                    replicas.Remove(change.ResourceId);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        return [.. replicas.Values.OrderBy(r => r.ResourceId, StringComparer.Ordinal)];
    }

    /// <summary>Waits for the killed replica to be seen as exited, starts it again and waits until it is healthy.</summary>
    public static async Task RestartAsync(this AgentCloudFixture fixture, string resourceName, string resourceId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var commands = fixture.App.Services.GetRequiredService<ResourceCommandService>();
        var notifications = fixture.App.Services.GetRequiredService<ResourceNotificationService>();
        await notifications.WaitForResourceAsync(resourceName,
            e => e.ResourceId == resourceId && e.Snapshot.State?.Text is "Exited" or "Finished" or "FailedToStart", timeout.Token);
        var result = await commands.ExecuteCommandAsync(resourceId, KnownResourceCommands.StartCommand, timeout.Token);
        Assert.True(result.Success, result.Message);
        await notifications.WaitForResourceAsync(resourceName,
            e => e.ResourceId == resourceId && e.Snapshot.State?.Text == KnownResourceStates.Running
                && e.Snapshot.HealthStatus == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy,
            timeout.Token);
    }

    /// <summary>
    /// The service's own process: the AppHost starts projects through <c>dotnet run</c>, whose child (or
    /// deepest descendant) runs the service. The pid itself when it has no children.
    /// </summary>
    public static int ServicePid(int pid)
    {
        while (true)
        {
            var children = Directory.GetDirectories($"/proc/{pid}/task")
                .SelectMany(task => File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Select(int.Parse)
                .ToList();
            if (children.Count == 0)
            {
                return pid;
            }

            pid = children.Max();
        }
    }

    /// <summary>Resident set size in bytes (VmRSS of /proc/{pid}/status).</summary>
    public static long RssBytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0]) * 1024;
    }
}
