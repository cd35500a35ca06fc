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
