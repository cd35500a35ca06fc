using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Aspire.Hosting.ApplicationModel;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCloud.IntegrationTests;

/// <summary>The promises of docs/messaging.md, under two workers and a worker that dies.</summary>
[Collection(AgentCloudCollection.Name)]
public sealed class MessagingGuaranteeTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task TwoWorkersHandle2000MessagesOver50AgentsExactlyOnceInOrder()
    {
        var user = await fixture.CreateUserAsync();
        var agents = await CreateEchoAgentsAsync(user, 50);

        var ids = await PostAsync(user, agents, perAgent: 40);

        await WaitUntilAllFinishedAsync(ids, TimeSpan.FromMinutes(3));
        await AssertHandledExactlyOnceInOrderAsync(agents, ids);
        Assert.Equal(2, (await WorkerReplicasAsync()).Count);
    }

    [Fact]
    public async Task AWorkerKilledWhileHoldingMessagesLosesNothingAndDoublesNothing()
    {
        var user = await fixture.CreateUserAsync();
        var agents = await CreateEchoAgentsAsync(user, 20);
        var ids = await PostAsync(user, agents, perAgent: 100);

        // Kill one replica outright (no graceful shutdown) while the inboxes are full.
        var victim = (await WorkerReplicasAsync()).First();
        using (var process = Process.GetProcessById(victim.Pid))
        {
            process.Kill(entireProcessTree: true);
        }

        try
        {
            await WaitUntilAllFinishedAsync(ids, TimeSpan.FromMinutes(3));
            await AssertHandledExactlyOnceInOrderAsync(agents, ids);
        }
        finally
        {
            await RestartAsync(victim.ResourceId);
        }
    }

    private static async Task<List<JsonObject>> CreateEchoAgentsAsync(TestUser user, int count)
    {
        var agents = new List<JsonObject>();
        for (var i = 0; i < count; i++)
        {
            agents.Add(await user.CreateAgentAsync($"echo {i}", new { behavior = "echo" }));
        }

        return agents;
    }

    /// <summary>Posts concurrently across agents, in order within each agent; returns the accepted ids.</summary>
    private static async Task<List<Guid>> PostAsync(TestUser user, List<JsonObject> agents, int perAgent)
    {
        var ids = new List<Guid>();
        await Parallel.ForEachAsync(agents, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (agent, ct) =>
        {
            for (var n = 0; n < perAgent; n++)
            {
                using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages", new { payload = new { n } }, ct);
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                var id = Guid.Parse((await response.ReadJsonAsync())["id"]!.GetValue<string>());
                lock (ids)
                {
                    ids.Add(id);
                }
            }
        });
        return ids;
    }

    private async Task WaitUntilAllFinishedAsync(List<Guid> ids, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        await using var db = await fixture.OpenDatabaseAsync();
        while (true)
        {
            var unfinished = await db.ExecuteScalarAsync<long>(
                "SELECT count(*) FROM messages WHERE id = ANY(@ids) AND status NOT IN ('done', 'dead')", new { ids });
            if (unfinished == 0)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{unfinished} of {ids.Count} messages still unfinished after {timeout}.");
            await Task.Delay(250);
        }
    }

    /// <summary>
    /// Every message done with its echo; exactly one "Received" log line each (a message handled twice
    /// would have committed two); per agent, those lines in the order the messages arrived.
    /// </summary>
    private async Task AssertHandledExactlyOnceInOrderAsync(List<JsonObject> agents, List<Guid> ids)
    {
        await using var db = await fixture.OpenDatabaseAsync();
        var rows = (await db.QueryAsync<(Guid Id, int AgentId, long Seq, string Status, string Payload, string? Reply)>(
            "SELECT id, agent_id, seq, status, payload::text, reply::text FROM messages WHERE id = ANY(@ids)", new { ids })).ToList();
        Assert.Equal(ids.Count, rows.Count);
        Assert.All(rows, row => Assert.Equal("done", row.Status));
        Assert.All(rows, row => Assert.True(JsonNode.DeepEquals(JsonNode.Parse(row.Payload), JsonNode.Parse(row.Reply!))));

        var agentIds = agents.Select(a => a["id"]!.GetValue<int>()).ToArray();
        var received = (await db.QueryAsync<(int AgentId, long LogId, string Message)>(
            "SELECT agent_id, id, message FROM agent_logs WHERE agent_id = ANY(@agentIds) AND message LIKE 'Received message %' ORDER BY id",
            new { agentIds })).ToList();
        var byMessage = rows.ToDictionary(r => r.Id);
        var handledIds = received.Select(line => Guid.Parse(line.Message.Split(' ')[2])).ToList();
        Assert.Equal(ids.Count, handledIds.Count);
        Assert.Equal(ids.Count, handledIds.Distinct().Count());

        foreach (var agentLines in received.GroupBy(line => line.AgentId))
        {
            var seqs = agentLines.Select(line => byMessage[Guid.Parse(line.Message.Split(' ')[2])].Seq).ToList();
            Assert.Equal(seqs.Order(), seqs);
        }
    }

    private sealed record Replica(string ResourceId, int Pid);

    private async Task<List<Replica>> WorkerReplicasAsync()
    {
        var notifications = fixture.App.Services.GetRequiredService<ResourceNotificationService>();
        var replicas = new Dictionary<string, Replica>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            // WatchAsync replays the current state of every resource first, then waits for changes.
            await foreach (var change in notifications.WatchAsync(timeout.Token))
            {
                if (change.Resource.Name != "agent-worker")
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

        return replicas.Values.ToList();
    }

    private async Task RestartAsync(string resourceId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var commands = fixture.App.Services.GetRequiredService<ResourceCommandService>();
        var notifications = fixture.App.Services.GetRequiredService<ResourceNotificationService>();
        await notifications.WaitForResourceAsync("agent-worker",
            e => e.ResourceId == resourceId && e.Snapshot.State?.Text is "Exited" or "Finished" or "FailedToStart", timeout.Token);
        var result = await commands.ExecuteCommandAsync(resourceId, KnownResourceCommands.StartCommand, timeout.Token);
        Assert.True(result.Success, result.Message);
        await notifications.WaitForResourceAsync("agent-worker",
            e => e.ResourceId == resourceId && e.Snapshot.State?.Text == KnownResourceStates.Running && e.Snapshot.HealthStatus == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy,
            timeout.Token);
    }
}
