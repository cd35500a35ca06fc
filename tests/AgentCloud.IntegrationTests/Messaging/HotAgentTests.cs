using System.Globalization;
using Dapper;
using Xunit.Abstractions;

namespace AgentCloud.IntegrationTests;

/// <summary>One busy agent: its backlog is worked through in order, exactly once, and fast (docs/messaging.md).</summary>
[Collection(AgentCloudCollection.Name)]
public sealed class HotAgentTests(AgentCloudFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task OneAgentsBacklogIsHandledInOrderExactlyOnce()
    {
        var count = int.TryParse(Environment.GetEnvironmentVariable("HOT_AGENT_MESSAGES"), CultureInfo.InvariantCulture, out var n) ? n
            : 2000;
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("hot echo", new { behavior = "echo" });

        // The backlog arrives in one commit, as if the API had accepted it while no worker looked.
        await using var db = await fixture.OpenDatabaseAsync();
        var userId = await db.ExecuteScalarAsync<int>("SELECT user_id FROM agents WHERE id = @id",
            new { id = agent["id"]!.GetValue<int>() });
        await using (var transaction = await db.BeginTransactionAsync())
        {
            await db.ExecuteAsync(
                """
                INSERT INTO messages (agent_id, direction, sender, target, session, payload)
                SELECT @id, 'inbound', @sender, @address, gen_random_uuid(),
                       jsonb_build_object('text', 'hot ' || i)
                FROM generate_series(1, @count) AS i
                ORDER BY i
                """,
                new { id = agent["id"]!.GetValue<int>(), sender = $"user:{userId}", address = agent["address"]!.GetValue<string>(), count },
                transaction);
            await db.ExecuteAsync("SELECT pg_notify('agent_inbox', @id)",
                new { id = agent["id"]!.GetValue<int>().ToString(CultureInfo.InvariantCulture) }, transaction);
            await transaction.CommitAsync();
        }

        var committed = await db.ExecuteScalarAsync<DateTime>("SELECT now() AT TIME ZONE 'utc'");
        var ids = (await db.QueryAsync<Guid>("SELECT id FROM messages WHERE agent_id = @id AND direction = 'inbound'",
            new { id = agent["id"]!.GetValue<int>() })).ToList();
        Assert.Equal(count, ids.Count);

        await fixture.WaitUntilAllFinishedAsync(ids, TimeSpan.FromSeconds(Math.Max(60, count / 5.0)));
        var (handled, doubled) = await fixture.AssertHandledExactlyOnceInOrderAsync([agent], ids);
        Assert.Equal((count, 0), (handled, doubled));

        var last = await db.ExecuteScalarAsync<DateTime>("SELECT max(completed_at) FROM messages WHERE id = ANY(@ids)", new { ids });
        var seconds = (last - committed).TotalSeconds;
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        var summary = $"[hot agent] {count} messages handled in {seconds:0.00} s: {count / seconds:0} per second (load average {load})";
        output.WriteLine(summary);
        Console.WriteLine(summary);
    }

    [Fact]
    public async Task AnEchoAgentsBacklogCommitsInRunsThatStopAtAMessageWaitingForItsRetry()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("run echo", new { behavior = "echo" });
        var agentId = agent["id"]!.GetValue<int>();
        await using var db = await fixture.OpenDatabaseAsync();
        var userId = await db.ExecuteScalarAsync<int>("SELECT user_id FROM agents WHERE id = @agentId", new { agentId });

        // 200 messages; the 101st failed once and is due again only in 3 s: nothing after it may be handled before it.
        await using (var transaction = await db.BeginTransactionAsync())
        {
            await db.ExecuteAsync(
                """
                INSERT INTO messages (agent_id, direction, sender, target, session, payload, status, attempts, available_at)
                SELECT @agentId, 'inbound', @sender, @address, gen_random_uuid(), jsonb_build_object('text', 'run ' || i),
                       CASE WHEN i = 101 THEN 'failed' ELSE 'queued' END, CASE WHEN i = 101 THEN 1 ELSE 0 END,
                       CASE WHEN i = 101 THEN (now() AT TIME ZONE 'utc') + interval '3 seconds' ELSE now() AT TIME ZONE 'utc' END
                FROM generate_series(1, 200) AS i
                ORDER BY i
                """,
                new { agentId, sender = $"user:{userId}", address = agent["address"]!.GetValue<string>() }, transaction);
            await db.ExecuteAsync("SELECT pg_notify('agent_inbox', @id)", new { id = agentId.ToString(CultureInfo.InvariantCulture) },
                transaction);
            await transaction.CommitAsync();
        }

        var ids = (await db.QueryAsync<Guid>("SELECT id FROM messages WHERE agent_id = @agentId AND direction = 'inbound' ORDER BY seq",
            new { agentId })).ToList();
        Assert.Equal(200, ids.Count);
        await fixture.WaitUntilAllFinishedAsync(ids[..100], TimeSpan.FromSeconds(60));
        var early = await db.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM messages WHERE id = ANY(@later) AND status <> 'queued'", new { later = ids[101..] });
        Assert.Equal(0, early);

        await fixture.WaitUntilAllFinishedAsync(ids, TimeSpan.FromSeconds(60));
        var (handled, doubled) = await fixture.AssertHandledExactlyOnceInOrderAsync([agent], ids);
        Assert.Equal((200, 0), (handled, doubled));
        var done = (await db.QueryAsync<(long Seq, DateTime CompletedAt, int Attempts)>(
            "SELECT seq, completed_at, attempts FROM messages WHERE id = ANY(@ids) ORDER BY seq", new { ids })).ToList();
        Assert.True(done[100].CompletedAt <= done[101].CompletedAt, "the message after the retried one finished before it");
        Assert.Equal(2, done[100].Attempts);
        Assert.All(done.Where((_, i) => i != 100), row => Assert.Equal(1, row.Attempts));

        // A run's messages finish in one transaction, so they share its clock: 200 messages in far fewer commits than 200.
        var commits = done.Select(row => row.CompletedAt).Distinct().Count();
        output.WriteLine($"[runs] 200 messages finished in {commits} commits");
        Assert.True(commits <= 40, $"200 messages took {commits} commits");
    }

    [Fact]
    public async Task ARunOfAPeersMessagesAnswersExactlyThoseThatAreNoEchoOfWhatTheAgentSentBeforeThemInTheSession()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("run echo checks", new { behavior = "echo" });
        var agentId = agent["id"]!.GetValue<int>();
        var address = agent["address"]!.GetValue<string>();
        var peer = AgentCloud.Shared.UAgents.AgentIdentity.FromSeed($"echo-check-peer-{Guid.NewGuid()}").Address;
        var (session, other) = (Guid.NewGuid(), Guid.NewGuid());
        await using var db = await fixture.OpenDatabaseAsync();

        // Sent before (committed): Z. Then one backlog from the peer, handled as one run: Z (what was sent before), A (new),
        // A (what the run itself just answered), B, A again, C; and A in another session (new there).
        string[] texts = ["Z", "A", "A", "B", "A", "C", "A"];
        bool[] answered = [false, true, false, true, false, true, true];
        await using (var transaction = await db.BeginTransactionAsync())
        {
            await db.ExecuteAsync(
                """
                INSERT INTO messages (agent_id, direction, sender, target, session, payload, status)
                VALUES (@agentId, 'outbound', @address, @peer, @session, '{"text": "Z"}', 'dead')
                """,
                new { agentId, address, peer, session }, transaction);
            for (var i = 0; i < texts.Length; i++)
            {
                await db.ExecuteAsync(
                    """
                    INSERT INTO messages (agent_id, direction, sender, target, session, payload)
                    VALUES (@agentId, 'inbound', @peer, @address, @session, jsonb_build_object('text', @text::text))
                    """,
                    new { agentId, peer, address, session = i == texts.Length - 1 ? other : session, text = texts[i] }, transaction);
            }

            await db.ExecuteAsync("SELECT pg_notify('agent_inbox', @id)", new { id = agentId.ToString(CultureInfo.InvariantCulture) },
                transaction);
            await transaction.CommitAsync();
        }

        var ids = (await db.QueryAsync<Guid>("SELECT id FROM messages WHERE agent_id = @agentId AND direction = 'inbound' ORDER BY seq",
            new { agentId })).ToList();
        await fixture.WaitUntilAllFinishedAsync(ids, TimeSpan.FromSeconds(60));

        var replies = (await db.QueryAsync<(Guid InReplyTo, string Payload, Guid Session)>(
            "SELECT in_reply_to, payload::text, session FROM messages WHERE in_reply_to = ANY(@ids) ORDER BY seq", new { ids })).ToList();
        Assert.Equal(ids.Where((_, i) => answered[i]), replies.Select(reply => reply.InReplyTo));
        Assert.Equal(texts.Where((_, i) => answered[i]).Select(text =>
            $$"""{"text": "{{text}}"}"""), replies.Select(reply => reply.Payload));
        var notAnswering = await db.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM agent_logs WHERE agent_id = @agentId AND message LIKE '%not answering it'", new { agentId });
        Assert.Equal(answered.Count(yes => !yes), notAnswering);

        // They were decided in one run (or two), not one message at a time.
        var commits = await db.ExecuteScalarAsync<long>("SELECT count(DISTINCT completed_at) FROM messages WHERE id = ANY(@ids)",
            new { ids });
        Assert.True(commits <= 2, $"the peer's {ids.Count} messages took {commits} commits");
    }
}
