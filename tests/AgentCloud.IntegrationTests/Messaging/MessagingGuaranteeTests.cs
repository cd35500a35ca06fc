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

        await fixture.WaitUntilAllFinishedAsync(ids, TimeSpan.FromMinutes(3));
        await fixture.AssertHandledExactlyOnceInOrderAsync(agents, ids);
        Assert.Equal(2, (await fixture.RunningAsync("agent-worker")).Count);
    }

    [Fact]
    public async Task AWorkerKilledWhileHoldingMessagesLosesNothingAndDoublesNothing()
    {
        var user = await fixture.CreateUserAsync();
        var agents = await CreateEchoAgentsAsync(user, 20);
        var ids = await PostAsync(user, agents, perAgent: 100);

        // Kill one replica outright (no graceful shutdown) while the inboxes are full.
        var victim = (await fixture.RunningAsync("agent-worker")).First();
        using (var process = Process.GetProcessById(victim.Pid))
        {
            process.Kill(entireProcessTree: true);
        }

        try
        {
            await fixture.WaitUntilAllFinishedAsync(ids, TimeSpan.FromMinutes(3));
            await fixture.AssertHandledExactlyOnceInOrderAsync(agents, ids);
        }
        finally
        {
            await fixture.RestartAsync("agent-worker", victim.ResourceId);
        }
    }

    [Fact]
    public async Task AWorkerWhoseLeaseWasTakenOverMidMessageCommitsNothingOfIt()
    {
        var user = await fixture.CreateUserAsync();
        // Two words, 1.5 s apart: long enough to take the message over while its worker is still on it.
        var agent = await user.CreateAgentAsync("slow", new { behavior = "stream", delay_ms = 1500 });
        var workerLogs = await WorkerLogs.WatchAsync(fixture);
        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages", new { text = "taken over" });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = Guid.Parse((await response.ReadJsonAsync())["id"]!.GetValue<string>());

        await using var db = await fixture.OpenDatabaseAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await db.ExecuteScalarAsync<string>("SELECT status FROM messages WHERE id = @id", new { id }) != "processing")
        {
            Assert.True(DateTime.UtcNow < deadline, "the message was never claimed");
            await Task.Delay(50);
        }

        // As another worker's claim after an expired lease would leave it.
        Assert.Equal(1, await db.ExecuteAsync(
            "UPDATE messages SET lease_owner = 'elsewhere', lease_until = (now() AT TIME ZONE 'utc') + interval '10 minutes' WHERE id = " +
            "@id AND status = 'processing'",
            new { id }));
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!workerLogs.Lines.Any(line => line.Contains($"Lost the lease on message {id}", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the worker never reached its commit");
            await Task.Delay(100);
        }

        await workerLogs.StopAsync();
        var row = await db.QuerySingleAsync<(string Status, string LeaseOwner, string? Reply, DateTime? CompletedAt)>(
            "SELECT status, lease_owner, reply::text, completed_at FROM messages WHERE id = @id", new { id });
        Assert.Equal(("processing", "elsewhere", null, null), row);
        Assert.Equal(0, await db.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM agent_logs WHERE agent_id = @agentId AND message LIKE '%' || @id || '%'",
            new { agentId = agent["id"]!.GetValue<int>(), id = id.ToString() }));
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
}
