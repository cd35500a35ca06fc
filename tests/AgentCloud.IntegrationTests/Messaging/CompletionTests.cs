using AgentCloud.Shared.Messaging;
using Dapper;
using Npgsql;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// The store's completion of several agents' runs in one statement (the worker's slots complete together), against the
/// suite's PostgreSQL: all of them commit, or, when one run's lease is no longer ours, none does. The rows are set up as a
/// worker holding them would have them (heads processing under a lease, followers queued behind), so the running workers,
/// which never claim an agent whose head is in flight, leave them alone until the test's leases expire.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class CompletionTests(AgentCloudFixture fixture)
{
    private const string Owner = "completion-tests";

    // The store reads its rows as every host of it configures Dapper (AddAgentCloudDatabase): agent_id is AgentId.
    static CompletionTests() => DefaultTypeMap.MatchNamesWithUnderscores = true;

    [Fact]
    public async Task RunsOfSeveralAgentsCompleteTogetherOrNotAtAll()
    {
        var user = await fixture.CreateUserAsync();
        var (a, b, c) = (await AgentIdAsync(user), await AgentIdAsync(user), await AgentIdAsync(user));
        await using var db = await fixture.OpenDatabaseAsync();
        // a: a head and a follower; b: a head whose lease is another worker's now; c: a head, and one more waiting behind it.
        var aHead = await InsertAsync(db, a, "processing", Owner);
        var aFollower = await InsertAsync(db, a, "queued", null);
        var bHead = await InsertAsync(db, b, "processing", "another-worker");
        var cHead = await InsertAsync(db, c, "processing", Owner);
        var cNext = await InsertAsync(db, c, "queued", null);

        RunCompletion Run(int agent, bool claimNext, params Guid[] ids) => new(agent,
            [.. ids.Select(id => new Completion(id, $$"""{"echo": "{{id}}"}""", null))], [("INFO", $"handled by agent {agent}")], claimNext,
                null);

        // One run no longer ours fails the statement: nothing of any run is done, logged or claimed.
        var failed = await MessageTable.CompleteInboundAsync(db, null, Owner,
            [Run(a, false, aHead, aFollower), Run(b, false, bHead), Run(c, true, cHead)],
            TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Null(failed);
        Assert.Equal(["processing", "queued", "processing", "processing", "queued"],
            await StatusesAsync(db, aHead, aFollower, bHead, cHead, cNext));
        Assert.Equal(0, await LogLinesAsync(db, a, c));

        // Without it, the others commit together: every message done with its own reply, each agent's lines under its own
        // id, and c's next head claimed under our lease.
        var completed = await MessageTable.CompleteInboundAsync(db, null, Owner, [Run(a, false, aHead, aFollower), Run(c, true, cHead)],
            TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.NotNull(completed);
        Assert.Equal(2, completed[0].Latencies.Count);
        Assert.Null(completed[0].Next);
        Assert.Equal(cNext, completed[1].Next?.Id);
        Assert.Equal(["done", "done", "processing", "done", "processing"], await StatusesAsync(db, aHead, aFollower, bHead, cHead, cNext));
        Assert.Equal(Owner, await db.QuerySingleAsync<string>("SELECT lease_owner FROM messages WHERE id = @cNext", new { cNext }));
        Assert.Equal($$"""{"echo": "{{aFollower}}"}""",
            await db.QuerySingleAsync<string>("SELECT reply::text FROM messages WHERE id = @aFollower", new { aFollower }));
        Assert.Equal([$"handled by agent {a}"],
            await db.QueryAsync<string>("SELECT message FROM agent_logs WHERE agent_id = @a AND message LIKE 'handled by%' ORDER BY id",
                new { a }));
        Assert.Equal([$"handled by agent {c}"], await db.QueryAsync<string>(
            "SELECT message FROM agent_logs WHERE agent_id = @c AND message LIKE 'handled by%' ORDER BY id", new { c }));
    }

    private static async Task<int> AgentIdAsync(TestUser user) =>
        (await user.CreateAgentAsync(config: new { behavior = "echo" }))["id"]!.GetValue<int>();

    // Expires soon after the test: then a worker takes whatever is left and handles it as usual.
    private static Task<Guid> InsertAsync(NpgsqlConnection db, int agentId, string status, string? leaseOwner) =>
        db.QuerySingleAsync<Guid>(
            """
            INSERT INTO messages (agent_id, direction, sender, target, session, payload, status, lease_owner, lease_until, attempts)
            VALUES (@agentId, 'inbound', 'user:0', 'test', gen_random_uuid(), '{"n": 1}', @status, @leaseOwner,
                    CASE WHEN @leaseOwner IS NULL THEN NULL ELSE (now() AT TIME ZONE 'utc') + interval '30 seconds' END,
                    CASE WHEN @leaseOwner IS NULL THEN 0 ELSE 1 END)
            RETURNING id
            """,
            new { agentId, status, leaseOwner });

    private static async Task<string[]> StatusesAsync(NpgsqlConnection db, params Guid[] ids) =>
        [.. (await db.QueryAsync<(Guid Id, string Status)>("SELECT id, status FROM messages WHERE id = ANY(@ids)", new { ids }))
            .OrderBy(row => Array.IndexOf(ids, row.Id)).Select(row => row.Status)];

    private static Task<int> LogLinesAsync(NpgsqlConnection db, int a, int c) =>
        db.QuerySingleAsync<int>("SELECT count(*)::int FROM agent_logs WHERE agent_id IN (@a, @c) AND message LIKE 'handled by%'",
            new { a, c });
}
