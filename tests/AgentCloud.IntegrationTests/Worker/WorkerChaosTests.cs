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
            // Answers with the payload after 20 ms (a test behaviour): an echo is done before a kill can find it in flight.
            agents.Add(await user.CreateAgentAsync($"chaos {i}", new { behavior = "stream", delay_ms = 20 }));
        }

        var clock = Stopwatch.StartNew();
        var accepted = new List<Guid>();
        // The workers keep up with the poster: it is let go one share at a time, so every kill lands while it posts.
        var allowed = Share(1);
        using var posting = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        // In order within each agent.
        var poster = Parallel.ForEachAsync(agents, new ParallelOptions { MaxDegreeOfParallelism = 6, CancellationToken = posting.Token },
            async (agent, ct) =>
            {
                for (var n = 0; n < PerAgent; n++)
                {
                    while (Count(accepted) >= Volatile.Read(ref allowed))
                    {
                        await Task.Delay(10, ct);
                    }

                    using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages", new { payload = new { n } },
                        ct);
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
            // Each kill lands while messages are posted and handled: halfway through the share let go for it.
            Volatile.Write(ref allowed, Share(kill + 1));
            var threshold = (Share(kill) + Share(kill + 1)) / 2;
            while (Count(accepted) < threshold && !poster.IsCompleted)
            {
                await Task.Delay(20);
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
            // Restarted before the checks, so a failed one does not leave later tests with one replica.
            await fixture.RestartAsync("agent-worker", victim.ResourceId);
            Assert.True(unfinished > 0, $"kill {kill + 1} found no message in flight");
            Assert.True(heldByVictim > 0, $"kill {kill + 1} found no replica holding a message");
        }

        Volatile.Write(ref allowed, Agents * PerAgent);
        await poster;
        Assert.Equal(Agents * PerAgent, accepted.Count);
        await fixture.WaitUntilAllFinishedAsync(accepted, TimeSpan.FromMinutes(4));
        figures.Add($"all {accepted.Count} finished at {clock.Elapsed.TotalSeconds:F1}s");
        var (handled, doubled) = await fixture.AssertHandledExactlyOnceInOrderAsync(agents, accepted);
        figures.Add($"handled {handled}, doubled {doubled}, lost {accepted.Count - handled}");
        foreach (var line in figures)
        {
            output.WriteLine(line);
            Console.WriteLine($"[chaos] {line}");
        }

        Assert.Equal(2, (await fixture.RunningAsync("agent-worker")).Count);
    }

    // The messages posted once the k-th of Kills + 1 shares is let go.
    private static int Share(int k) => Agents * PerAgent * k / (Kills + 1);

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
            // Both counts from one snapshot: a message leased at the second count cannot be missing from the first.
            var unfinished = new long[replicas.Count];
            var held = new long[replicas.Count];
            for (var i = 0; i < replicas.Count; i++)
            {
                (unfinished[i], held[i]) = await db.QuerySingleAsync<(long, long)>(
                    """
                    SELECT count(*) FILTER (WHERE direction = 'inbound' AND status NOT IN ('done', 'dead')),
                           count(*) FILTER (WHERE status = 'processing' AND lease_owner LIKE @owner)
                    FROM messages
                    """, new { owner = owners[i] });
            }

            var best = held[preferred] >= held.Max() ? preferred : Array.IndexOf(held, held.Max());
            if (held[best] > 0 || DateTime.UtcNow > deadline)
            {
                return (replicas[best], unfinished[best], held[best]);
            }

            await Task.Delay(10);
        }
    }
}
