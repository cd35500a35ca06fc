using System.Collections.Concurrent;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCloud.IntegrationTests;

/// <summary>Every line the running worker replicas write to their console while a test watches (at most two minutes).</summary>
internal sealed class WorkerLogs
{
    private readonly CancellationTokenSource watching = new(TimeSpan.FromMinutes(2));
    private readonly List<Task> watchers = [];

    public ConcurrentQueue<string> Lines { get; } = new();

    public static async Task<WorkerLogs> WatchAsync(AgentCloudFixture fixture)
    {
        var logs = new WorkerLogs();
        var loggers = fixture.App.Services.GetRequiredService<ResourceLoggerService>();
        foreach (var replica in await fixture.RunningAsync("agent-worker"))
        {
            logs.watchers.Add(Task.Run(async () =>
            {
                try
                {
                    await foreach (var batch in loggers.WatchAsync(replica.ResourceId).WithCancellation(logs.watching.Token))
                    {
                        foreach (var line in batch)
                        {
                            logs.Lines.Enqueue(line.Content);
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                }
            }));
        }

        return logs;
    }

    public async Task StopAsync()
    {
        await watching.CancelAsync();
        await Task.WhenAll(watchers);
        watching.Dispose();
    }
}
