using System.Collections.Concurrent;
using System.Net.Http.Json;
using Dapper;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// Waiting clients cost no database connection, and the pools of every process fit the server's
/// max_connections: a crowd of ?wait requests is answered, never refused after its message was stored.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class WaitingClientsTests(AgentCloudFixture fixture)
{
    private const int Requests = 500;
    private const int Agents = 25;

    [Fact]
    public async Task FiveHundredConcurrentWaitsAreAllAnsweredAndEveryMessageExistsOnce()
    {
        await using (var db = await fixture.OpenDatabaseAsync())
        {
            // The limit the AppHost shares out among the API and the worker replicas: PostgreSQL's default.
            Assert.Equal("100", await db.ExecuteScalarAsync<string>("SHOW max_connections"));
        }

        var user = await fixture.CreateUserAsync();
        var agents = new List<int>();
        for (var i = 0; i < Agents; i++)
        {
            agents.Add((await user.CreateAgentAsync($"echo {i}", new { behavior = "echo" }))["id"]!.GetValue<int>());
        }

        using var client = fixture.CreateApiClient();
        client.DefaultRequestHeaders.Authorization = user.Client.DefaultRequestHeaders.Authorization;
        client.Timeout = TimeSpan.FromSeconds(90);
        var answers = new ConcurrentBag<(HttpStatusCode Status, string? Id, string Body)>();
        using var start = new SemaphoreSlim(0, Requests);
        var requests = Enumerable.Range(0, Requests).Select(async n =>
        {
            await start.WaitAsync();
            using var response = await client.PostAsJsonAsync($"/agents/{agents[n % Agents]}/messages?wait=30",
                new { payload = new { n } });
            var body = await response.Content.ReadAsStringAsync();
            var id = response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted
                ? System.Text.Json.Nodes.JsonNode.Parse(body)!["id"]!.GetValue<string>()
                : null;
            answers.Add((response.StatusCode, id, body));
        }).ToList();
        // The busiest the server got, in client connections, while the crowd waited.
        using var sampling = new CancellationTokenSource();
        var peak = SamplePeakConnectionsAsync(sampling.Token);
        start.Release(Requests);
        await Task.WhenAll(requests);
        await sampling.CancelAsync();
        var peakConnections = await peak;

        var refused = answers.Where(a => a.Status is not (HttpStatusCode.OK or HttpStatusCode.Accepted)).ToList();
        Assert.True(refused.Count == 0,
            $"{refused.Count} of {Requests} were not 200/202 (peak {peakConnections} client connections): "
            + string.Join("; ", refused.GroupBy(a => (int)a.Status).Select(g => $"{g.Count()} × {g.Key} {g.First().Body}")));
        // What a client sees: mostly finished within the wait, none refused.
        Assert.Contains(answers, a => a.Status == HttpStatusCode.OK);
        var ids = answers.Select(a => Guid.Parse(a.Id!)).ToArray();
        Assert.Equal(Requests, ids.Distinct().Count());

        await using var check = await fixture.OpenDatabaseAsync();
        var stored = (await check.QueryAsync<(Guid Id, long Copies)>(
            "SELECT id, count(*) FROM messages WHERE agent_id = ANY(@agents) AND direction = 'inbound' GROUP BY id",
            new { agents = agents.ToArray() })).ToList();
        Assert.Equal(Requests, stored.Count);
        Assert.All(stored, row => Assert.Equal(1, row.Copies));
        Assert.Empty(ids.Except(stored.Select(row => row.Id)));
        var payloads = await check.QueryAsync<int>(
            "SELECT (payload ->> 'n')::int FROM messages WHERE agent_id = ANY(@agents) AND direction = 'inbound'",
            new { agents = agents.ToArray() });
        Assert.Equal(Enumerable.Range(0, Requests), payloads.Order());
        Assert.InRange(peakConnections, 1, 99);
    }

    [Fact]
    public async Task ThreeHundredHeldSyncSubmitsAreAllAnsweredWithTheirReply()
    {
        const int submits = 300;
        var user = await fixture.CreateUserAsync();
        var agents = new List<string>();
        for (var i = 0; i < 15; i++)
        {
            agents.Add((await user.CreateAgentAsync($"sync echo {i}", new { behavior = "echo" }))["address"]!.GetValue<string>());
        }

        // Thirty peers, ten envelopes each: within /submit's per-sender burst, so every refusal would be the server's.
        var peers = Enumerable.Range(0, 30).Select(i => new UagentsPeer(fixture, $"waiting clients peer {i} {Guid.NewGuid()}")).ToList();
        var envelopes = Enumerable.Range(0, submits)
            .Select(n => (Peer: peers[n % peers.Count],
                Envelope: peers[n % peers.Count].Compose(agents[n % agents.Count], AgentCloud.Shared.UAgents.MessageModels.Message,
                    $$"""{"message": "sync {{n}}"}""")))
            .ToList();
        using var start = new SemaphoreSlim(0, submits);
        var answers = envelopes.Select(async sent =>
        {
            await start.WaitAsync();
            using var response = await sent.Peer.SubmitAsync(sent.Envelope, sync: true);
            return (envelope: sent.Envelope, Status: (int)response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }).ToList();
        start.Release(submits);
        var results = await Task.WhenAll(answers);

        var failed = results.Where(r => r.Status != 200).ToList();
        Assert.True(failed.Count == 0,
            $"{failed.Count} of {submits} were not 200, e.g. {failed.FirstOrDefault().Status} {failed.FirstOrDefault().Body}");
        Assert.All(results, r =>
        {
            var reply = AgentCloud.Shared.UAgents.Envelope.FromJson(r.Body)!;
            Assert.Equal(AgentCloud.Shared.UAgents.MessageModels.Message.Digest, reply.SchemaDigest);
            Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(
                System.Text.Json.Nodes.JsonNode.Parse(r.envelope.DecodePayload()!),
                    System.Text.Json.Nodes.JsonNode.Parse(reply.DecodePayload()!)),
                r.Body);
        });
    }

    private async Task<long> SamplePeakConnectionsAsync(CancellationToken ct)
    {
        await using var db = await fixture.OpenDatabaseAsync();
        long peak = 0;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                peak = Math.Max(peak, await db.ExecuteScalarAsync<long>(
                    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"));
                await Task.Delay(50, ct);
            }
        }
        catch (OperationCanceledException)
        {
        }

        return peak;
    }
}
