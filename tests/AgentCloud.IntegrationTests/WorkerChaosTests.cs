using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Xunit.Abstractions;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// Worker replicas killed outright again and again while thousands of messages flow: every message is
/// still handled, none twice, each agent's in arrival order.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class WorkerChaosTests(AgentCloudFixture fixture, ITestOutputHelper output)
{
    private const int Agents = 30;
    private const int PerAgent = 100;
    private const int Kills = 3;

    [Fact]
    public async Task WorkersKilledThreeTimesDuring3000MessagesLoseNothingDoubleNothingAndKeepOrder()
    {
        var user = await fixture.CreateUserAsync();
        var agents = new List<JsonObject>();
        for (var i = 0; i < Agents; i++)
        {
            agents.Add(await user.CreateAgentAsync($"chaos {i}", new { behavior = "echo" }));
        }

        var clock = Stopwatch.StartNew();
        var accepted = new List<Guid>();
        using var posting = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        // Posted at a pace that spreads the run over the kills; in order within each agent.
        var poster = Parallel.ForEachAsync(agents, new ParallelOptions { MaxDegreeOfParallelism = 6, CancellationToken = posting.Token },
            async (agent, ct) =>
            {
                for (var n = 0; n < PerAgent; n++)
                {
                    using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages", new { payload = new { n } }, ct);
                    Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                    var id = Guid.Parse((await response.ReadJsonAsync())["id"]!.GetValue<string>());
                    lock (accepted)
                    {
                        accepted.Add(id);
                    }
                }
            });

        var figures = new List<string>();
        for (var kill = 0; kill < Kills; kill++)
        {
            // Each kill lands while messages are queued and being handled: after another share of the run is posted.
            var threshold = Agents * PerAgent * (kill + 1) / (Kills + 2);
            while (Count(accepted) < threshold && !poster.IsCompleted)
            {
                await Task.Delay(50);
            }

            var replicas = await fixture.RunningAsync("agent-worker");
            Assert.Equal(2, replicas.Count);
            // The victim is a replica caught holding leased messages: killed in the middle of handling them.
            var (victim, unfinished, heldByVictim) = await BusiestReplicaAsync(replicas, preferred: kill % replicas.Count);
            using (var process = Process.GetProcessById(victim.Pid))
            {
                process.Kill(entireProcessTree: true);
            }

            figures.Add($"kill {kill + 1} at {clock.Elapsed.TotalSeconds:F1}s: pid {victim.Pid}, {Count(accepted)} accepted, "
                + $"{unfinished} unfinished, {heldByVictim} leased by the victim");
            Assert.True(unfinished > 0, $"kill {kill + 1} found no message in flight");
            Assert.True(heldByVictim > 0, $"kill {kill + 1} found no replica holding a message");
            await fixture.RestartAsync("agent-worker", victim.ResourceId);
        }

        await poster;
        Assert.Equal(Agents * PerAgent, accepted.Count);
        await WaitUntilAllFinishedAsync(accepted, TimeSpan.FromMinutes(4));
        figures.Add($"all {accepted.Count} finished at {clock.Elapsed.TotalSeconds:F1}s");
        var (handled, doubled) = await AssertHandledExactlyOnceInOrderAsync(agents, accepted);
        figures.Add($"handled {handled}, doubled {doubled}, lost {accepted.Count - handled}");
        foreach (var line in figures)
        {
            output.WriteLine(line);
            Console.WriteLine($"[chaos] {line}");
        }

        Assert.Equal(2, (await fixture.RunningAsync("agent-worker")).Count);
    }

    private static int Count(List<Guid> ids)
    {
        lock (ids)
        {
            return ids.Count;
        }
    }

    /// <summary>
    /// Polls (up to 5 s) until a replica holds leased messages; returns the one holding most (the
    /// <paramref name="preferred"/> one on a tie), the unfinished count and how many it held.
    /// </summary>
    private async Task<(ResourceProcesses.Replica Victim, long Unfinished, long Held)> BusiestReplicaAsync(
        List<ResourceProcesses.Replica> replicas, int preferred)
    {
        var owners = replicas.Select(r => $"%/{ResourceProcesses.ServicePid(r.Pid)}/%").ToArray();
        await using var db = await fixture.OpenDatabaseAsync();
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            var unfinished = await db.ExecuteScalarAsync<long>(
                "SELECT count(*) FROM messages WHERE direction = 'inbound' AND status NOT IN ('done', 'dead')");
            var held = new long[replicas.Count];
            for (var i = 0; i < replicas.Count; i++)
            {
                held[i] = await db.ExecuteScalarAsync<long>(
                    "SELECT count(*) FROM messages WHERE status = 'processing' AND lease_owner LIKE @owner", new { owner = owners[i] });
            }

            var best = held[preferred] >= held.Max() ? preferred : Array.IndexOf(held, held.Max());
            if (held[best] > 0 || DateTime.UtcNow > deadline)
            {
                return (replicas[best], unfinished, held[best]);
            }

            await Task.Delay(10);
        }
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
    /// would have committed two); per agent, those lines in arrival order. Returns (handled, doubled).
    /// </summary>
    private async Task<(int Handled, int Doubled)> AssertHandledExactlyOnceInOrderAsync(List<JsonObject> agents, List<Guid> ids)
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
        var distinct = handledIds.Distinct().Count();
        Assert.Equal(ids.Count, handledIds.Count);
        Assert.Equal(ids.Count, distinct);

        foreach (var agentLines in received.GroupBy(line => line.AgentId))
        {
            var seqs = agentLines.Select(line => byMessage[Guid.Parse(line.Message.Split(' ')[2])].Seq).ToList();
            Assert.Equal(seqs.Order(), seqs);
        }

        return (distinct, handledIds.Count - distinct);
    }
}
