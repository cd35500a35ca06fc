using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// The default quotas (Quotas:*), reached by filling the database directly up to one below the limit:
/// the API's own count decides, as it would after a user's thousand requests.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class QuotaTests(AgentCloudFixture fixture)
{
    private const int AgentsPerUser = 100;
    private const long ConfigBytesPerUser = 1024 * 1024;
    private const int MessagesPerDay = 10_000;
    private const int QueuedMessagesPerAgent = 1_000;
    private const int QueuedMessagesPerOutsider = 100;

    [Fact]
    public async Task TheHundredAndFirstAgentIs403NamingTheQuota()
    {
        var user = await fixture.CreateUserAsync();
        await using (var db = await fixture.OpenDatabaseAsync())
        {
            await db.ExecuteAsync("INSERT INTO agents (name, user_id) SELECT 'filler ' || n, @id FROM generate_series(1, @count) AS n",
                new { id = user.Id, count = AgentsPerUser - 1 });
        }

        await user.CreateAgentAsync("the last one allowed");
        using var refused = await user.Client.PostAsJsonAsync("/agents", new { name = "one too many" });

        var problem = await refused.AssertProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal("agents_per_user", problem["quota"]!.GetValue<string>());
        Assert.Equal(AgentsPerUser, problem["limit"]!.GetValue<int>());
        Assert.Contains("agents_per_user", problem["detail"]!.GetValue<string>());
        await using var check = await fixture.OpenDatabaseAsync();
        Assert.Equal(AgentsPerUser, await check.ExecuteScalarAsync<long>("SELECT count(*) FROM agents WHERE user_id = @id",
            new { id = user.Id }));
    }

    [Fact]
    public async Task ConfigsBeyondTheUsersTotalAre403OnCreateAndOnUpdate()
    {
        var user = await fixture.CreateUserAsync();
        var small = await user.CreateAgentAsync("small", new { behavior = "echo" });
        await using (var db = await fixture.OpenDatabaseAsync())
        {
            // 33 configs of 31,000 bytes: 1,023,000 of the 1,048,576 allowed.
            await db.ExecuteAsync(
                "INSERT INTO agents (name, user_id, config) SELECT 'big ' || n, @id, jsonb_build_object('pad', repeat('x', 30990)) FROM " +
                "generate_series(1, 33) AS n",
                new { id = user.Id });
        }

        var pad = new string('y', 30_000);
        using var create = await user.Client.PostAsJsonAsync("/agents", new { name = "too big", config = new { behavior = "echo", pad } });
        using var update = await user.Client.PutAsJsonAsync($"/agents/{small["id"]}", new { config = new { behavior = "echo", pad } });
        using var rename = await user.Client.PutAsJsonAsync($"/agents/{small["id"]}", new { name = "renamed" });

        Assert.Equal("config_bytes_per_user", (await create.AssertProblemAsync(HttpStatusCode.Forbidden))["quota"]!.GetValue<string>());
        Assert.Equal("config_bytes_per_user", (await update.AssertProblemAsync(HttpStatusCode.Forbidden))["quota"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, rename.StatusCode);
        using var unchanged = await user.Client.GetAsync($"/agents/{small["id"]}");
        Assert.DoesNotContain(pad, await unchanged.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheDaysLastMessageIsTakenAndTheNextIs429NamingTheQuota()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("busy", new { behavior = "echo" });
        await using (var db = await fixture.OpenDatabaseAsync())
        {
            await db.ExecuteAsync("INSERT INTO usage_daily (user_id, day, messages) VALUES (@id, (now() AT TIME ZONE 'utc')::date, @used)",
                new { id = user.Id, used = MessagesPerDay - 1 });
        }

        using var last = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages", new { text = "last" });
        using var refused = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages", new { text = "one too many" });
        using var viaSend = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/send",
            new { target = agent["address"]!.GetValue<string>(), text = "also too many" });

        Assert.Equal(HttpStatusCode.Accepted, last.StatusCode);
        var problem = await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal("messages_per_day", problem["quota"]!.GetValue<string>());
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.True(refused.Headers.RetryAfter?.Delta <= TimeSpan.FromDays(1));
        Assert.Equal("messages_per_day", (await viaSend.AssertProblemAsync(HttpStatusCode.TooManyRequests))["quota"]!.GetValue<string>());
        await using var check = await fixture.OpenDatabaseAsync();
        Assert.Equal(1, await check.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE agent_id = @id",
            new { id = agent["id"]!.GetValue<int>() }));
    }

    /// <summary>
    /// A crowd of sends across the day's end, starting where sends count without taking turns (more left than twice
    /// max_connections) and ending where they take turns: exactly the day's remainder is taken, not one more, not one less.
    /// </summary>
    [Fact]
    public async Task ACrowdOfSendsAcrossTheDaysEndTakesExactlyWhatIsLeft()
    {
        var user = await fixture.CreateUserAsync();
        var agents = new[] { await user.CreateAgentAsync("crowd a", new { behavior = "echo" }),
            await user.CreateAgentAsync("crowd b", new { behavior = "echo" }) };
        int left;
        await using (var db = await fixture.OpenDatabaseAsync())
        {
            left = 2 * await db.ExecuteScalarAsync<int>("SELECT current_setting('max_connections')::int") + 10;
            await db.ExecuteAsync("INSERT INTO usage_daily (user_id, day, messages) VALUES (@id, (now() AT TIME ZONE 'utc')::date, @used)",
                new { id = user.Id, used = MessagesPerDay - left });
        }

        var statuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
        await Parallel.ForEachAsync(Enumerable.Range(0, left + 50), new ParallelOptions { MaxDegreeOfParallelism = 24 }, async (n, _) =>
        {
            using var sent = await user.Client.PostAsJsonAsync($"/agents/{agents[n % 2]["id"]}/messages", new { text = $"crowd {n}" });
            if (sent.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.Equal("messages_per_day", (await sent.ReadJsonAsync())["quota"]!.GetValue<string>());
            }

            statuses.Add(sent.StatusCode);
        });

        Assert.Equal(left, statuses.Count(status => status == HttpStatusCode.Accepted));
        Assert.Equal(50, statuses.Count(status => status == HttpStatusCode.TooManyRequests));
        await using var check = await fixture.OpenDatabaseAsync();
        Assert.Equal(left, await check.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE agent_id = ANY(@ids)",
            new { ids = agents.Select(agent => agent["id"]!.GetValue<int>()).ToArray() }));
        Assert.Equal(MessagesPerDay, await check.ExecuteScalarAsync<long>(
            "SELECT sum(messages) FROM usage_daily WHERE user_id = @id AND day = (now() AT TIME ZONE 'utc')::date", new { id = user.Id }));
    }

    /// <summary>
    /// Another user's <c>/send</c> flood fills the other lane and that user's share of it, never the owner's lane; the owner's own
    /// agents keep room beyond what outsiders may fill; and the owner's own lane has the same cap.
    /// </summary>
    [Fact]
    public async Task AStrangersFloodLeavesTheOwnerRoomAndIsCappedPerSender()
    {
        var victim = await fixture.CreateUserAsync();
        var agent = await victim.CreateAgentAsync("flooded", new { behavior = "echo" });
        var helper = await victim.CreateAgentAsync("the owner's other agent");
        var flooder = await fixture.CreateUserAsync();
        var sender = await flooder.CreateAgentAsync("flooder");
        var bystander = await fixture.CreateUserAsync();
        var other = await bystander.CreateAgentAsync("bystander");
        var target = agent["address"]!.GetValue<string>();
        await FillQueueAsync(agent, QueuedMessagesPerOutsider, sender["address"]!.GetValue<string>());

        using (var overShare = await flooder.Client.PostAsJsonAsync($"/agents/{sender["id"]}/send", new { target, text = "flood" }))
        {
            var problem = await overShare.AssertProblemAsync(HttpStatusCode.TooManyRequests);
            Assert.Equal("queued_messages_per_outsider", problem["quota"]!.GetValue<string>());
            Assert.Equal(QueuedMessagesPerOutsider, problem["limit"]!.GetValue<int>());
        }

        // Other strangers fill the rest of the other lane (as many users' floods would): the bystander is refused too.
        await FillQueueAsync(agent, QueuedMessagesPerAgent - QueuedMessagesPerOutsider,
            "agent1qstrangerstrangerstrangerstrangerstrangerstrangerstrang");
        using (var foreign = await bystander.Client.PostAsJsonAsync($"/agents/{other["id"]}/send", new { target, text = "hello" }))
        {
            Assert.Equal("queued_messages_per_agent",
                (await foreign.AssertProblemAsync(HttpStatusCode.TooManyRequests))["quota"]!.GetValue<string>());
        }

        // The owner is answered at once, and the owner's own agents still get in.
        using (var own = await victim.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=20", new { text = "mine" }))
        {
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        }

        using (var fromHelper = await victim.Client.PostAsJsonAsync($"/agents/{helper["id"]}/send", new { target, text = "mine too" }))
        {
            Assert.Equal(HttpStatusCode.Accepted, fromHelper.StatusCode);
        }

        // The owner's lane has its own cap.
        await FillQueueAsync(agent, QueuedMessagesPerAgent, $"user:{victim.Id}");
        using (var ownFull = await victim.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages", new { text = "one too many" }))
        {
            Assert.Equal("queued_messages_per_agent",
                (await ownFull.AssertProblemAsync(HttpStatusCode.TooManyRequests))["quota"]!.GetValue<string>());
            Assert.NotNull(ownFull.Headers.RetryAfter);
        }

        // Purging the flood makes room at once.
        using var purge = await victim.Client.DeleteAsync($"/agents/{agent["id"]}/messages?status=failed");
        Assert.Equal(2 * QueuedMessagesPerAgent, (await purge.ReadJsonAsync())["deleted"]!.GetValue<int>());
        using var after = await victim.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=20", new { text = "mine" });
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task ARepeatWithTheSameIdempotencyKeyDoesNotCountAgainstTheDay()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("repeated", new { behavior = "echo" });

        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/agents/{agent["id"]}/messages")
            {
                Content = JsonContent.Create(new { text = "once" }),
            };
            request.Headers.Add("Idempotency-Key", "the-same-send");
            using var sent = await user.Client.SendAsync(request);
            Assert.True(sent.IsSuccessStatusCode, $"attempt {attempt}: {(int)sent.StatusCode}");
        }

        using var response = await user.Client.GetAsync("/users/me/usage");
        Assert.Equal(1, (await response.ReadJsonAsync())["messages_per_day"]!["used"]!.GetValue<long>());
        await using var db = await fixture.OpenDatabaseAsync();
        Assert.Equal(1, await db.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE agent_id = @id",
            new { id = agent["id"]!.GetValue<int>() }));
    }

    [Fact]
    public async Task UsageShowsUseAgainstEachLimit()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("one", new { behavior = "echo" });
        await user.CreateAgentAsync("two");
        using (var sent = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=20", new { text = "hi" }))
        {
            Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        }

        await FillQueueAsync(agent, 7);

        using var response = await user.Client.GetAsync("/users/me/usage");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var usage = await response.ReadJsonAsync();
        Assert.Equal(2, usage["agents_per_user"]!["used"]!.GetValue<long>());
        Assert.Equal(AgentsPerUser, usage["agents_per_user"]!["limit"]!.GetValue<long>());
        Assert.InRange(usage["config_bytes_per_user"]!["used"]!.GetValue<long>(), 20, 100);
        Assert.Equal(ConfigBytesPerUser, usage["config_bytes_per_user"]!["limit"]!.GetValue<long>());
        Assert.Equal(1, usage["messages_per_day"]!["used"]!.GetValue<long>());
        Assert.Equal(MessagesPerDay, usage["messages_per_day"]!["limit"]!.GetValue<long>());
        Assert.Equal(7, usage["queued_messages_per_agent"]!["used"]!.GetValue<long>());
        Assert.Equal(QueuedMessagesPerAgent, usage["queued_messages_per_agent"]!["limit"]!.GetValue<long>());
    }

    /// <summary>Unfinished inbound messages that are not due for an hour, so no worker takes them meanwhile.</summary>
    internal static async Task FillQueueAsync(AgentCloudFixture fixture, JsonObject agent, int count, string sender = "user:0")
    {
        await using var db = await fixture.OpenDatabaseAsync();
        await db.ExecuteAsync(
            """
            INSERT INTO messages (agent_id, direction, sender, target, session, payload, status, attempts, available_at)
            SELECT @id, 'inbound', @sender, @address, gen_random_uuid(), to_jsonb(n), 'failed', 1,
                   (now() AT TIME ZONE 'utc') + interval '1 hour'
            FROM generate_series(1, @count) AS n
            """,
            new { id = agent["id"]!.GetValue<int>(), address = agent["address"]!.GetValue<string>(), count, sender });
    }

    private Task FillQueueAsync(JsonObject agent, int count, string sender = "user:0") => FillQueueAsync(fixture, agent, count, sender);
}
