using System.Text.Json.Nodes;
using Dapper;

namespace AgentCloud.IntegrationTests;

/// <summary>The checks behind docs/messaging.md's promises, shared by the tests that stress them.</summary>
public static class MessageGuarantees
{
    /// <summary>
    /// Puts a message at the head of <paramref name="agent"/>'s inbox that another worker holds, leased
    /// for ten minutes: every message sent to the agent after it waits behind it.
    /// </summary>
    public static async Task HoldHeadOfLineAsync(this AgentCloudFixture fixture, JsonObject agent)
    {
        await using var db = await fixture.OpenDatabaseAsync();
        await db.ExecuteAsync(
            """
            INSERT INTO messages (agent_id, direction, sender, target, session, payload, status, attempts, lease_owner, lease_until)
            VALUES (@id, 'inbound', 'user:0', @address, gen_random_uuid(), '"held"', 'processing', 1, 'elsewhere',
                    (now() AT TIME ZONE 'utc') + interval '10 minutes')
            """,
            new { id = agent["id"]!.GetValue<int>(), address = agent["address"]!.GetValue<string>() });
    }

    public static async Task WaitUntilAllFinishedAsync(this AgentCloudFixture fixture, List<Guid> ids, TimeSpan timeout)
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
    public static async Task<(int Handled, int Doubled)> AssertHandledExactlyOnceInOrderAsync(this AgentCloudFixture fixture,
        List<JsonObject> agents, List<Guid> ids)
    {
        await using var db = await fixture.OpenDatabaseAsync();
        var rows = (await db.QueryAsync<(Guid Id, int AgentId, long Seq, string Status, string Payload, string? Reply)>(
            "SELECT id, agent_id, seq, status, payload::text, reply::text FROM messages WHERE id = ANY(@ids)", new { ids })).ToList();
        Assert.Equal(ids.Count, rows.Count);
        Assert.All(rows, row => Assert.Equal("done", row.Status));
        Assert.All(rows, row => Assert.True(JsonNode.DeepEquals(JsonNode.Parse(row.Payload), JsonNode.Parse(row.Reply!))));

        var agentIds = agents.Select(a => a["id"]!.GetValue<int>()).ToArray();
        var received = (await db.QueryAsync<(int AgentId, long LogId, string Message)>(
            "SELECT agent_id, id, message FROM agent_logs WHERE agent_id = ANY(@agentIds) AND message LIKE 'Received message %' " +
            "ORDER BY id",
            new { agentIds })).ToList();
        var byMessage = rows.ToDictionary(r => r.Id);
        var handledIds = received.Select(line => LogText.ReceivedMessageId(line.Message)).ToList();
        var distinct = handledIds.Distinct().Count();
        Assert.Equal(ids.Count, handledIds.Count);
        Assert.Equal(ids.Count, distinct);

        foreach (var agentLines in received.GroupBy(line => line.AgentId))
        {
            var seqs = agentLines.Select(line => byMessage[LogText.ReceivedMessageId(line.Message)].Seq).ToList();
            Assert.Equal(seqs.Order(), seqs);
        }

        return (distinct, handledIds.Count - distinct);
    }
}
